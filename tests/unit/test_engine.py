"""aiwarden.engine: scanning and evaluating targets, isolation of failures, ordering."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import pytest
from botocore.exceptions import ClientError

from aiwarden import engine
from aiwarden.events import Target, normalise
from aiwarden.model import EXEMPT_TAG, Finding, ResourceRef, Severity, Status
from aiwarden.registry import REGISTRY, all_checks, select
from aiwarden.resources.iam import USER
from aiwarden.resources.s3 import BUCKET
from tests.conftest import ACCOUNT, REGION, load_event

KMS = "s3_bucket_default_encryption_kms"
PUBLIC = "s3_bucket_public_access_blocked"
MFA = "iam_user_console_mfa_enabled"
MODEL_CHECK = "sagemaker_model_artifacts_encrypted"
BUCKETS = ("aiw-models-kms", "aiw-datasets-plain")
USERS = ("alice", "bob")


@pytest.fixture
def estate(aws):
    """Two buckets (one SSE-KMS, one not) and two IAM users."""
    s3 = aws.client("s3")
    for name in BUCKETS:
        s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(
        Bucket="aiw-models-kms",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    for name in USERS:
        aws.client("iam").create_user(UserName=name)
    return aws


def access_denied(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, operation)


def by_key(findings: list[Finding]) -> dict[tuple[str, str], Finding]:
    return {(f.check_id, f.ref.resource_id): f for f in findings}


def test_scan_reports_every_check_on_every_resource(estate):
    findings = engine.scan(estate, select([KMS, PUBLIC, MFA]))
    expected = {(c, b) for c in (KMS, PUBLIC) for b in BUCKETS} | {(MFA, u) for u in USERS}
    assert sorted((f.check_id, f.ref.resource_id) for f in findings) == sorted(expected)
    assert by_key(findings)[(KMS, "aiw-models-kms")].status is Status.PASS
    assert by_key(findings)[(KMS, "aiw-datasets-plain")].status is Status.FAIL
    assert {f.ref.region for f in findings if f.check_id == MFA} == {"global"}


def test_scan_reads_each_bucket_aspect_once_and_tags_in_bulk(estate):
    calls: Counter[tuple[str, str]] = Counter()
    estate.client("s3").meta.events.register(
        "provide-client-params.s3.*",
        lambda params, model, **_: calls.update([(model.name, params.get("Bucket", ""))]),
    )
    tag_reads: Counter[str] = Counter()
    estate.client("resourcegroupstaggingapi").meta.events.register(
        "provide-client-params.resource-groups-tagging-api.GetResources",
        lambda params, **_: tag_reads.update([len(params["ResourceARNList"])]),
    )
    findings = engine.scan(estate, select([KMS, PUBLIC]))

    assert {f.ref.resource_id for f in findings} == set(BUCKETS)
    assert max(calls.values()) == 1  # every (operation, bucket) once, whichever checks share it
    # The listing named the buckets: no per-bucket existence probe or tag read.
    assert not [op for op, _ in calls if op == "GetBucketTagging"]
    # A failing bucket needs its tags (the exemption): one GetResources names every bucket.
    assert tag_reads == {len(BUCKETS): 1}


def test_a_raising_check_errors_alone(estate, monkeypatch):
    def boom(resource, clients):
        raise RuntimeError("boom")

    monkeypatch.setitem(REGISTRY, KMS, dataclasses.replace(REGISTRY[KMS], evaluate=boom))
    findings = by_key(engine.scan(estate, select([KMS, PUBLIC, MFA])))
    for bucket in BUCKETS:
        assert findings[(KMS, bucket)].status is Status.ERROR
        assert findings[(KMS, bucket)].reason == "could not evaluate: RuntimeError: boom"
        assert findings[(PUBLIC, bucket)].status is Status.FAIL
    assert {findings[(MFA, u)].status for u in USERS} == {Status.PASS}


def test_describe_client_error_becomes_an_error_finding_naming_the_code(estate, monkeypatch):
    def denied(clients, ref):
        raise access_denied("GetBucketTagging")

    monkeypatch.setattr(BUCKET, "describe", denied)
    monkeypatch.setattr(BUCKET, "prefetch", None)  # a scan would otherwise skip the describe
    findings = engine.scan(estate, select([KMS]))
    assert {f.status for f in findings} == {Status.ERROR}
    assert all("AccessDenied" in f.reason for f in findings)


def test_resource_gone_is_not_applicable(aws):
    gone = Target(BUCKET, frozenset({KMS}), ResourceRef(BUCKET, "aiw-deleted", REGION, ACCOUNT))
    (finding,) = engine.evaluate([gone], aws)
    assert finding.status is Status.NOT_APPLICABLE
    assert "aiw-deleted" in finding.reason


def test_user_gone_is_not_applicable(aws):
    gone = Target(USER, frozenset({MFA}), ResourceRef(USER, "nobody", "global", ACCOUNT))
    (finding,) = engine.evaluate([gone], aws)
    assert finding.status is Status.NOT_APPLICABLE


def test_listing_failure_is_one_error_finding_for_that_check(estate, monkeypatch):
    def denied(clients):
        raise access_denied("ListBuckets")

    monkeypatch.setattr(BUCKET, "list_refs", denied)
    findings = engine.scan(estate, select([KMS, MFA]))
    errors = [f for f in findings if f.status is Status.ERROR]
    assert [(f.check_id, f.ref.resource_id) for f in errors] == [(KMS, "*")]
    assert errors[0].reason.startswith("could not list S3 buckets: AccessDenied")
    assert sorted(f.ref.resource_id for f in findings if f.check_id == MFA) == list(USERS)


def test_fail_sorts_before_pass(estate):
    s3 = estate.client("s3")
    s3.create_bucket(Bucket="aaa-first-by-name")  # would come first if only names were sorted
    s3.put_bucket_encryption(
        Bucket="aaa-first-by-name",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    findings = engine.scan(estate, select([KMS]))
    assert [(f.status, f.ref.resource_id) for f in findings] == [
        (Status.FAIL, "aiw-datasets-plain"),
        (Status.PASS, "aaa-first-by-name"),
        (Status.PASS, "aiw-models-kms"),
    ]


def test_sort_orders_by_status_then_severity_then_check_then_resource():
    def finding(status, severity, check_id="c", resource="r"):
        return Finding(check_id, "t", severity, status, ResourceRef(BUCKET, resource, REGION, ACCOUNT), "x")

    ordered = [
        finding(Status.FAIL, Severity.CRITICAL),
        finding(Status.FAIL, Severity.LOW, "a"),
        finding(Status.FAIL, Severity.LOW, "b", "r1"),
        finding(Status.FAIL, Severity.LOW, "b", "r2"),
        finding(Status.ERROR, Severity.LOW),
        finding(Status.EXEMPT, Severity.HIGH),
        finding(Status.PASS, Severity.CRITICAL),
        finding(Status.NOT_APPLICABLE, Severity.CRITICAL),
    ]
    assert engine.sort_findings(reversed(ordered)) == ordered


def test_exempt_tag_turns_a_fail_into_exempt(estate):
    estate.client("s3").put_bucket_tagging(
        Bucket="aiw-datasets-plain", Tagging={"TagSet": [{"Key": EXEMPT_TAG, "Value": "true"}]}
    )
    finding = by_key(engine.scan(estate, select([KMS])))[(KMS, "aiw-datasets-plain")]
    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_same_check_and_resource_from_two_targets_is_evaluated_once(estate):
    ref = ResourceRef(BUCKET, "aiw-datasets-plain", REGION, ACCOUNT)
    target = Target(BUCKET, frozenset({KMS}), ref)
    assert len(engine.evaluate([target, target], estate)) == 1


def test_bucket_change_re_evaluates_models_stored_in_it(aws):
    aws.client("s3").create_bucket(Bucket="aiw-models-kms")
    aws.client("sagemaker").create_model(
        ModelName="fraud-v3",
        PrimaryContainer={
            "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "ModelDataUrl": "s3://aiw-models-kms/fraud-v3/model.tar.gz",
        },
        ExecutionRoleArn="arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-aiw",
    )
    invocation = normalise(load_event("cloudtrail/s3_delete_bucket_encryption.json"))
    findings = by_key(engine.evaluate(invocation.targets, aws, all_checks()))
    assert findings[(KMS, "aiw-models-kms")].status is Status.FAIL
    assert findings[(MODEL_CHECK, "fraud-v3")].status is Status.FAIL
    assert findings[(MODEL_CHECK, "fraud-v3")].ref.type.cfn_type == "AWS::SageMaker::Model"


def test_scan_ignores_checks_not_selected(estate):
    assert {f.check_id for f in engine.scan(estate, select([MFA]))} == {MFA}


def test_disabled_checks_are_not_evaluated(aws, monkeypatch):
    from aiwarden.engine import enabled_checks

    monkeypatch.setenv("AIWARDEN_DISABLED_CHECKS", "s3_bucket_default_encryption_kms, s3_bucket_tls_only")
    ids = {c.id for c in enabled_checks()}
    assert "s3_bucket_default_encryption_kms" not in ids and "s3_bucket_tls_only" not in ids
    assert "s3_bucket_public_access_blocked" in ids
    aws.client("s3").create_bucket(Bucket="disabled-checks-bucket")
    from aiwarden.engine import scan

    assert "s3_bucket_default_encryption_kms" not in {f.check_id for f in scan(aws)}


def test_a_sweep_lists_every_bucket_past_a_thousand(aws):
    # ListBuckets is paginated (MaxBuckets): a listing that stopped at the first page would leave
    # every further bucket unchecked, silently.
    s3 = aws.client("s3")
    names = {f"aiw-many-{i:05d}" for i in range(1001)}
    for name in names:
        s3.create_bucket(Bucket=name)

    assert {ref.resource_id for ref in BUCKET.list_refs(aws)} == names


def test_bulk_reads_never_change_a_verdict(aws, monkeypatch):
    """The demo estate plus a failing, exempt resource of every type that reads in bulk: a scan with
    the bulk reads (ResourceType.prefetch) and one reading each resource alone agree exactly."""
    from aiwarden.clients import Clients
    from aiwarden.resources import RESOURCE_TYPES
    from aiwarden_dev.estate import MOTO_BLIND_CHECKS, seed

    seed(aws.client, ACCOUNT, REGION)
    exempt = [{"Key": EXEMPT_TAG, "Value": "true"}]
    aws.client("s3").create_bucket(Bucket="aiw-exempt-bucket")
    aws.client("s3").put_bucket_tagging(Bucket="aiw-exempt-bucket", Tagging={"TagSet": exempt})
    aws.client("kms").create_key(Tags=[{"TagKey": EXEMPT_TAG, "TagValue": "true"}])  # no rotation
    aws.client("sagemaker").create_model(
        ModelName="aiw-exempt-model",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution",
        PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/x:1"},
        Tags=exempt,
    )
    aws.client("ecr").create_repository(
        repositoryName="aiw-exempt-repo", tags=[{"Key": EXEMPT_TAG, "Value": "true"}]
    )
    aws.client("iam").create_user(UserName="aiw-exempt-admin", Tags=exempt)
    aws.client("iam").put_user_policy(
        UserName="aiw-exempt-admin",
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    checks = [c for c in all_checks() if c.id not in MOTO_BLIND_CHECKS]

    def verdicts() -> list[tuple[str, str, str, str]]:
        findings = engine.scan(Clients(REGION, account_id=ACCOUNT), checks)
        return sorted((f.check_id, str(f.ref), f.status.value, f.reason) for f in findings)

    bulk = verdicts()
    with monkeypatch.context() as one_by_one:
        for resource_type in RESOURCE_TYPES.values():
            one_by_one.setattr(resource_type, "prefetch", None)
        alone = verdicts()

    assert bulk == alone
    exempted = {resource for _, resource, status, _ in bulk if status == "EXEMPT"}
    assert {
        "AWS::S3::Bucket/aiw-exempt-bucket",
        "AWS::SageMaker::Model/aiw-exempt-model",
        "AWS::ECR::Repository/aiw-exempt-repo",
        "AWS::IAM::User/aiw-exempt-admin",
    } <= exempted
    assert any(r.startswith("AWS::KMS::Key/") for r in exempted)
