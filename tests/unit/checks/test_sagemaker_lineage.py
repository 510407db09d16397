"""AI lineage for SageMaker endpoints: endpoint -> endpoint config -> models -> artifact buckets,
ECR repositories and execution roles, judged by the existing upstream checks, and re-evaluated
when an upstream resource changes. All on moto (it implements CreateEndpoint/DescribeEndpoint)."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from aiwarden import lineage
from aiwarden.engine import evaluate
from aiwarden.events import normalise
from aiwarden.model import Status
from aiwarden.registry import ALL_RESOURCES, REGISTRY, all_checks
from aiwarden.resources.ecr import REPOSITORY
from aiwarden.resources.iam import POLICY, ROLE
from aiwarden.resources.s3 import BUCKET
from aiwarden.resources.sagemaker import ENDPOINT
from tests.conftest import load_event
from tests.unit.helpers import ACCOUNT, REGION, check_finding

CHAIN = "sagemaker_endpoint_serving_chain_compliant"
ENDPOINT_NAME = "fraud-v3"
MODEL_NAME = "fraud-v3"
BUCKET_NAME = "aiw-models-kms"
ROLE_NAME = "aiw-sagemaker"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/{ROLE_NAME}"
REPO = "ml/fraud-inference"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPO}:3.1"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
EXEMPT = [{"Key": "aiwarden:exempt", "Value": "true"}]
DLC_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310"
SERVING = (
    f"endpoint {ENDPOINT_NAME} serves model {MODEL_NAME} (artifacts in bucket {BUCKET_NAME}, "
    f"image in ECR repository {REPO}, runs as role {ROLE_NAME})"
)


@pytest.fixture
def managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto attaches AWS managed policies (AdministratorAccess) only when asked to load them; it
    must be set before the ``aws`` fixture starts the backend."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def make_bucket(aws: Any, name: str, *, kms: bool = True, tags: list[dict[str, str]] | None = None) -> str:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=name)
    algorithm = {"SSEAlgorithm": "aws:kms"} if kms else {"SSEAlgorithm": "AES256"}
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": algorithm}]},
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
    return name


def deploy(
    aws: Any,
    endpoint: str,
    model: str,
    *,
    containers: list[dict[str, Any]] | None = None,
    role_arn: str = ROLE_ARN,
    tags: list[dict[str, str]] | None = None,
) -> str:
    sagemaker = aws.client("sagemaker")
    containers = containers or [{"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET_NAME}/{model}/model.tar.gz"}]
    shape: dict[str, Any] = (
        {"PrimaryContainer": containers[0]} if len(containers) == 1 else {"Containers": containers}
    )
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=role_arn, **shape)
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{endpoint}-config",
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 2,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config", Tags=tags or [])
    return endpoint


@pytest.fixture
def estate(aws) -> Any:
    """fraud-v3 served from a compliant chain: KMS-encrypted private bucket, a scanned private
    repository, and an execution role trusted by SageMaker with a scoped inline policy."""
    make_bucket(aws, BUCKET_NAME)
    iam = aws.client("iam")
    iam.create_role(
        RoleName=ROLE_NAME,
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    iam.put_role_policy(
        RoleName=ROLE_NAME,
        PolicyName="read-models",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{BUCKET_NAME}/*",
                    }
                ],
            }
        ),
    )
    aws.client("ecr").create_repository(repositoryName=REPO, imageScanningConfiguration={"scanOnPush": True})
    deploy(aws, ENDPOINT_NAME, MODEL_NAME)
    return aws


def cloudtrail_event(service: str, event_name: str, **request_parameters: Any) -> dict[str, Any]:
    """The captured DeleteBucketEncryption envelope re-pointed at another call."""
    event = copy.deepcopy(load_event("cloudtrail/s3_delete_bucket_encryption.json"))
    event["source"] = f"aws.{service}"
    event["detail"]["eventSource"] = f"{service}.amazonaws.com"
    event["detail"]["eventName"] = event_name
    event["detail"]["requestParameters"] = request_parameters
    return event


def chain_findings(event: dict[str, Any], aws: Any) -> dict[str, Any]:
    """Endpoint id -> this check's finding, for everything the event re-evaluates."""
    findings = evaluate(normalise(event).targets, aws)
    return {f.ref.resource_id: f for f in findings if f.check_id == CHAIN}


# --- the check ---------------------------------------------------------------------------------


def test_compliant_chain_passes_and_tells_the_chain(estate):
    finding = check_finding(CHAIN, ENDPOINT_NAME, estate)

    assert finding.status is Status.PASS
    assert finding.reason == f"{SERVING}, and all 5 upstream checks on them pass"


def test_bucket_losing_kms_fails_naming_endpoint_model_and_bucket(estate):
    estate.client("s3").delete_bucket_encryption(Bucket=BUCKET_NAME)

    finding = check_finding(CHAIN, ENDPOINT_NAME, estate)

    assert finding.status is Status.FAIL
    assert finding.reason.startswith(
        f"endpoint {ENDPOINT_NAME} serves model {MODEL_NAME} whose artifacts are in bucket "
        f"{BUCKET_NAME}, which fails s3_bucket_default_encryption_kms (bucket {BUCKET_NAME} has "
    )
    assert "not SSE-KMS)" in finding.reason
    assert "s3_bucket_public_access_blocked" not in finding.reason


def test_public_bucket_fails(estate):
    s3 = estate.client("s3")
    s3.delete_public_access_block(Bucket=BUCKET_NAME)
    s3.put_bucket_policy(
        Bucket=BUCKET_NAME,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Anyone",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{BUCKET_NAME}/*",
                    }
                ],
            }
        ),
    )

    finding = check_finding(CHAIN, ENDPOINT_NAME, estate)

    assert finding.status is Status.FAIL
    assert (
        f"whose artifacts are in bucket {BUCKET_NAME}, which fails s3_bucket_public_access_blocked "
        f"(bucket {BUCKET_NAME}: Block Public Access off" in finding.reason
    )
    assert "Principal * in Anyone" in finding.reason


def test_execution_role_gaining_admin_fails_naming_the_role(managed_policies, estate):
    estate.client("iam").attach_role_policy(RoleName=ROLE_NAME, PolicyArn=ADMIN)

    finding = check_finding(CHAIN, ENDPOINT_NAME, estate)

    assert finding.status is Status.FAIL
    assert finding.reason == (
        f"endpoint {ENDPOINT_NAME} serves model {MODEL_NAME} which runs as role {ROLE_NAME}, which fails "
        f"iam_sagemaker_execution_role_least_privilege (role {ROLE_NAME} (assumed by "
        "sagemaker.amazonaws.com) is over-privileged: AdministratorAccess is attached)"
    )


def test_public_repository_fails_naming_the_repository(estate):
    estate.client("ecr").set_repository_policy(
        repositoryName=REPO,
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}
                ],
            }
        ),
    )

    finding = check_finding(CHAIN, ENDPOINT_NAME, estate)

    assert finding.status is Status.FAIL
    assert (
        f"whose image is in ECR repository {REPO}, which fails ecr_repository_policy_not_public"
        in finding.reason
    )


def test_two_failing_links_are_both_told(managed_policies, estate):
    estate.client("s3").delete_bucket_encryption(Bucket=BUCKET_NAME)
    estate.client("iam").attach_role_policy(RoleName=ROLE_NAME, PolicyArn=ADMIN)

    reason = check_finding(CHAIN, ENDPOINT_NAME, estate).reason

    assert f"bucket {BUCKET_NAME}, which fails s3_bucket_default_encryption_kms" in reason
    assert f"; endpoint {ENDPOINT_NAME} serves model {MODEL_NAME} which runs as role {ROLE_NAME}" in reason


def test_exempt_bucket_does_not_fail_the_chain_and_says_so(aws):
    make_bucket(aws, "aiw-legacy-models", kms=False, tags=EXEMPT)
    make_bucket(aws, BUCKET_NAME)
    deploy(
        aws,
        ENDPOINT_NAME,
        MODEL_NAME,
        containers=[{"Image": DLC_IMAGE, "ModelDataUrl": "s3://aiw-legacy-models/fraud-v3/model.tar.gz"}],
    )

    finding = check_finding(CHAIN, ENDPOINT_NAME, aws)

    assert finding.status is Status.PASS
    assert (
        "Exempt, not counted: S3 bucket aiw-legacy-models is exempt from s3_bucket_default_encryption_kms, "
        "tagged aiwarden:exempt=true (would be FAIL: bucket aiw-legacy-models has default encryption "
        "AES256, not SSE-KMS)" in finding.reason
    )


def test_exempt_endpoint_is_exempt(estate):
    estate.client("s3").delete_bucket_encryption(Bucket=BUCKET_NAME)
    deploy(estate, "fraud-v4", "fraud-v4", tags=EXEMPT)

    finding = check_finding(CHAIN, "fraud-v4", estate)

    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_resources_outside_the_account_are_named_as_not_checked(estate):
    deploy(
        estate,
        "jumpstart",
        "jumpstart-model",
        containers=[{"Image": DLC_IMAGE, "ModelDataUrl": "s3://jumpstart-cache-prod-us-east-1/model.tar.gz"}],
    )

    finding = check_finding(CHAIN, "jumpstart", estate)

    assert finding.status is Status.PASS
    assert finding.reason == (
        "endpoint jumpstart serves model jumpstart-model (artifacts in bucket "
        "jumpstart-cache-prod-us-east-1, image in ECR repository pytorch-inference, runs as role "
        f"{ROLE_NAME}), and the one upstream check on them passes. Not checked: endpoint jumpstart serves "
        "model jumpstart-model whose artifacts are in bucket jumpstart-cache-prod-us-east-1 (not one "
        "of this account's buckets); endpoint jumpstart serves model jumpstart-model whose image is in "
        "ECR repository pytorch-inference (in account 763104351884)"
    )


def test_role_not_trusted_by_sagemaker_is_not_checked(estate):
    deploy(estate, "odd", "odd-model", role_arn=f"arn:aws:iam::{ACCOUNT}:role/never-created")

    finding = check_finding(CHAIN, "odd", estate)

    assert finding.status is Status.PASS
    assert "which runs as role never-created (IAM role never-created no longer exists)" in finding.reason


def test_model_package_sources_are_followed(estate):
    make_bucket(estate, "aiw-registry-plain", kms=False)
    sagemaker = estate.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="fraud")
    package = sagemaker.create_model_package(
        ModelPackageGroupName="fraud",
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://aiw-registry-plain/fraud/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    deploy(estate, "from-registry", "from-registry", containers=[{"ModelPackageName": package}])

    finding = check_finding(CHAIN, "from-registry", estate)

    assert finding.status is Status.FAIL
    assert (
        "endpoint from-registry serves model from-registry whose artifacts are in bucket "
        "aiw-registry-plain, which fails s3_bucket_default_encryption_kms" in finding.reason
    )


def test_endpoint_gone_is_not_applicable(aws):
    assert check_finding(CHAIN, "never-deployed", aws).status is Status.NOT_APPLICABLE


def test_deleted_endpoint_is_not_applicable(estate):
    estate.client("sagemaker").delete_endpoint(EndpointName=ENDPOINT_NAME)

    finding = check_finding(CHAIN, ENDPOINT_NAME, estate)

    assert finding.status is Status.NOT_APPLICABLE
    assert "no longer exists" in finding.reason


def test_deleted_model_makes_the_chain_an_error_not_a_pass(estate):
    estate.client("sagemaker").delete_model(ModelName=MODEL_NAME)

    finding = check_finding(CHAIN, ENDPOINT_NAME, estate)

    assert finding.status is Status.ERROR
    assert f"endpoint {ENDPOINT_NAME} serves model {MODEL_NAME}, which no longer exists" in finding.reason


def broken_check(monkeypatch: pytest.MonkeyPatch, check_id: str) -> None:
    all_checks()

    def boom(resource: Any, clients: Any) -> Any:
        raise RuntimeError("policy reader exploded")

    monkeypatch.setitem(REGISTRY, check_id, dataclasses.replace(REGISTRY[check_id], evaluate=boom))


def test_upstream_error_errors_this_endpoint_alone(estate, monkeypatch):
    broken_check(monkeypatch, "s3_bucket_public_access_blocked")

    finding = check_finding(CHAIN, ENDPOINT_NAME, estate)

    assert finding.status is Status.ERROR
    assert "LineageError" in finding.reason
    assert (
        f"bucket {BUCKET_NAME}, where s3_bucket_public_access_blocked could not evaluate: RuntimeError: "
        "policy reader exploded" in finding.reason
    )


def test_known_failure_wins_over_an_upstream_error(estate, monkeypatch):
    broken_check(monkeypatch, "s3_bucket_public_access_blocked")
    estate.client("s3").delete_bucket_encryption(Bucket=BUCKET_NAME)

    finding = check_finding(CHAIN, ENDPOINT_NAME, estate)

    assert finding.status is Status.FAIL
    assert "which fails s3_bucket_default_encryption_kms" in finding.reason
    assert ". Not evaluated: " in finding.reason
    assert "s3_bucket_public_access_blocked could not evaluate" in finding.reason


# --- re-evaluation on upstream change ----------------------------------------------------------


def test_bucket_losing_encryption_re_evaluates_the_endpoints_serving_from_it(estate):
    make_bucket(estate, "aiw-models-churn")
    deploy(
        estate,
        "churn-v1",
        "churn-v1",
        containers=[{"Image": IMAGE, "ModelDataUrl": "s3://aiw-models-churn/churn-v1/model.tar.gz"}],
    )
    estate.client("s3").delete_bucket_encryption(Bucket=BUCKET_NAME)
    invocation = normalise(load_event("cloudtrail/s3_delete_bucket_encryption.json"))

    findings = evaluate(invocation.targets, estate)

    chain = [f for f in findings if f.check_id == CHAIN]
    assert [(f.ref.type, f.ref.resource_id, f.status) for f in chain] == [
        (ENDPOINT, ENDPOINT_NAME, Status.FAIL)
    ]
    assert f"bucket {BUCKET_NAME}, which fails s3_bucket_default_encryption_kms" in chain[0].reason
    # The bucket's own verdict comes with it.
    assert any(f.check_id == "s3_bucket_default_encryption_kms" for f in findings)


def test_role_gaining_admin_re_evaluates_the_endpoints_running_as_it(managed_policies, estate):
    estate.client("iam").attach_role_policy(RoleName=ROLE_NAME, PolicyArn=ADMIN)
    event = cloudtrail_event("iam", "AttachRolePolicy", roleName=ROLE_NAME, policyArn=ADMIN)

    findings = chain_findings(event, estate)

    assert list(findings) == [ENDPOINT_NAME]
    assert findings[ENDPOINT_NAME].status is Status.FAIL
    assert f"which runs as role {ROLE_NAME}, which fails" in findings[ENDPOINT_NAME].reason


def test_new_policy_version_re_evaluates_endpoints_whose_role_has_it(estate):
    iam = estate.client("iam")
    scoped = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    arn = iam.create_policy(PolicyName="aiw-serving", PolicyDocument=json.dumps(scoped))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=arn)
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(everything), SetAsDefault=True)
    event = cloudtrail_event("iam", "CreatePolicyVersion", policyArn=arn, setAsDefault=True)

    findings = chain_findings(event, estate)

    assert findings[ENDPOINT_NAME].status is Status.FAIL
    assert "managed policy aiw-serving allows Action * on Resource *" in findings[ENDPOINT_NAME].reason


def test_repository_policy_change_re_evaluates_the_endpoints_using_its_images(estate):
    estate.client("ecr").set_repository_policy(
        repositoryName=REPO,
        policyText=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}]}
        ),
    )
    event = cloudtrail_event("ecr", "SetRepositoryPolicy", repositoryName=REPO, policyText="...")

    findings = chain_findings(event, estate)

    assert findings[ENDPOINT_NAME].status is Status.FAIL
    assert "ecr_repository_policy_not_public" in findings[ENDPOINT_NAME].reason


def test_change_to_an_unrelated_bucket_re_evaluates_no_endpoint(estate):
    make_bucket(estate, "aiw-unrelated")
    event = cloudtrail_event("s3", "DeleteBucketEncryption", bucketName="aiw-unrelated")

    assert chain_findings(event, estate) == {}


def test_finders_list_endpoints_once_and_resolve_each_chain_once(estate):
    make_bucket(estate, "aiw-models-churn")
    deploy(
        estate,
        "churn-v1",
        "churn-v1",
        containers=[{"Image": IMAGE, "ModelDataUrl": "s3://aiw-models-churn/churn-v1/model.tar.gz"}],
    )
    calls: list[str] = []
    sagemaker = estate.client("sagemaker")
    for operation in ("ListEndpoints", "DescribeEndpoint", "DescribeEndpointConfig", "DescribeModel"):
        sagemaker.meta.events.register(
            f"before-call.sagemaker.{operation}", lambda model, **_: calls.append(model.name)
        )
    events = [
        cloudtrail_event("s3", "PutBucketEncryption", bucketName=BUCKET_NAME),
        cloudtrail_event("s3", "PutBucketEncryption", bucketName="aiw-models-churn"),
        cloudtrail_event("iam", "PutRolePolicy", roleName=ROLE_NAME, policyName="x"),
        cloudtrail_event("ecr", "PutImageScanningConfiguration", repositoryName=REPO),
    ]
    targets = [t for event in events for t in normalise(event).targets]

    findings = evaluate(targets, estate)

    assert {f.ref.resource_id for f in findings if f.check_id == CHAIN} == {ENDPOINT_NAME, "churn-v1"}
    assert sorted(calls) == sorted(
        ["ListEndpoints"] + ["DescribeEndpoint", "DescribeEndpointConfig", "DescribeModel"] * 2
    )


# --- routing -----------------------------------------------------------------------------------

BRIEF_EVENTS = (
    [
        ("s3", name, {"bucketName": BUCKET_NAME}, BUCKET, BUCKET_NAME)
        for name in (
            "PutBucketEncryption",
            "DeleteBucketEncryption",
            "PutBucketPolicy",
            "DeleteBucketPublicAccessBlock",
            "PutBucketPublicAccessBlock",
            "PutBucketAcl",
        )
    ]
    + [
        ("iam", name, {"roleName": ROLE_NAME}, ROLE, ROLE_NAME)
        for name in (
            "AttachRolePolicy",
            "PutRolePolicy",
            "DetachRolePolicy",
            "DeleteRolePolicy",
            "UpdateAssumeRolePolicy",
        )
    ]
    + [
        ("ecr", name, {"repositoryName": REPO}, REPOSITORY, REPO)
        for name in ("SetRepositoryPolicy", "DeleteRepositoryPolicy", "PutImageScanningConfiguration")
    ]
)


@pytest.mark.parametrize(("service", "name", "request_parameters", "scope", "resource_id"), BRIEF_EVENTS)
def test_upstream_changes_become_lineage_targets(service, name, request_parameters, scope, resource_id):
    targets = normalise(cloudtrail_event(service, name, **request_parameters)).targets

    assert any(
        t.scope is scope and t.ref is not None and t.ref.resource_id == resource_id and CHAIN in t.check_ids
        for t in targets
    )


def test_account_wide_change_re_evaluates_endpoints_through_every_bucket(estate):
    make_bucket(estate, "aiw-unrelated")
    deploy(
        estate,
        "jumpstart",
        "jumpstart-model",
        containers=[{"Image": DLC_IMAGE, "ModelDataUrl": "s3://jumpstart-cache-prod-us-east-1/m.tar.gz"}],
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/other",
    )
    event = cloudtrail_event("s3", "DeleteAccountPublicAccessBlock", accountId=ACCOUNT)
    targets = normalise(event).targets

    assert any(t.scope is BUCKET and t.ref is None and CHAIN in t.check_ids for t in targets)
    # Only endpoints that depend on one of the account's buckets are re-evaluated.
    assert set(chain_findings(event, estate)) == {ENDPOINT_NAME}


def test_chain_follows_every_event_its_upstream_checks_follow():
    all_checks()
    mine = {(t.service, name) for t in REGISTRY[CHAIN].triggers for name in t.event_names}
    for upstream in lineage.upstream_checks():
        for trigger in upstream.triggers:
            assert {(trigger.service, name) for name in trigger.event_names} <= mine, upstream.id


def test_every_lineage_trigger_has_an_endpoint_finder():
    all_checks()
    for trigger in REGISTRY[CHAIN].triggers:
        if trigger.resource is not None:
            assert trigger.resource.cfn_type in ENDPOINT.upstream, trigger
        else:
            assert trigger.ids != ALL_RESOURCES  # never "every endpoint" for an upstream change
    assert POLICY.cfn_type in ENDPOINT.upstream


def test_installing_finders_keeps_existing_ones_and_is_idempotent():
    all_checks()
    assert "AWS::SageMaker::ModelPackage" in ENDPOINT.upstream
    before = dict(ENDPOINT.upstream)
    lineage.install_finders(ENDPOINT)
    assert ENDPOINT.upstream == before


def test_permissions_cover_the_upstream_checks_and_their_resources():
    all_checks()
    declared = set(REGISTRY[CHAIN].permissions)
    for upstream in lineage.upstream_checks():
        assert set(upstream.permissions) <= declared
        assert set(upstream.resource.permissions) <= declared
    assert {"sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"} <= declared


# --- image parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "parsed"),
    [
        (IMAGE, (ACCOUNT, REGION, REPO)),
        (f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/fraud", (ACCOUNT, "eu-west-1", "fraud")),
        (
            f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/team/fraud@sha256:{'a' * 64}",
            (ACCOUNT, "us-east-1", "team/fraud"),
        ),
        (
            f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0@sha256:{'b' * 64}",
            (ACCOUNT, "us-east-1", "fraud"),
        ),
        (f"{ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com/fraud:1", (ACCOUNT, "us-gov-west-1", "fraud")),
        (f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/fraud:1", (ACCOUNT, "cn-north-1", "fraud")),
        ("registry.example.com/fraud:1", None),
        ("public.ecr.aws/aws/fraud:1", None),
    ],
)
def test_parse_ecr_image(image, parsed):
    assert lineage.parse_ecr_image(image) == parsed
