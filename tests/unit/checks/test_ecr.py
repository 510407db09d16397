"""ECR repository checks: image scanning, tag immutability, public repository policies and
customer managed KMS encryption."""

from __future__ import annotations

import copy
import json

import pytest

from aiwarden.engine import evaluate
from aiwarden.events import normalise
from aiwarden.model import Resource, ResourceRef, Status
from aiwarden.registry import REGISTRY, all_checks
from aiwarden.resources.ecr import REPOSITORY
from tests.conftest import load_event
from tests.unit.helpers import ACCOUNT, REGION, check_finding

SCAN = "ecr_repository_scan_on_push_enabled"
IMMUTABLE = "ecr_repository_tag_immutability_enabled"
PUBLIC = "ecr_repository_policy_not_public"
KMS = "ecr_repository_kms_encrypted"
REPO = "ml/churn-inference"
PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


@pytest.fixture
def ecr(aws):
    return aws.client("ecr")


@pytest.fixture
def make_repo(ecr):
    def make(name: str = REPO, *, exempt: str | None = None, **params: object) -> str:
        if exempt is not None:
            params["tags"] = [{"Key": "aiwarden:exempt", "Value": exempt}]
        ecr.create_repository(repositoryName=name, **params)
        return name

    return make


def ecr_event(event_name: str, **request_parameters: object) -> dict:
    """A real CloudTrail envelope re-pointed at ECR."""
    event = copy.deepcopy(load_event("cloudtrail/s3_delete_bucket_public_access_block.json"))
    event["source"] = "aws.ecr"
    event["detail"]["eventSource"] = "ecr.amazonaws.com"
    event["detail"]["eventName"] = event_name
    event["detail"]["requestParameters"] = request_parameters
    return event


def registry_rule(ecr, scan_type: str, frequency: str, repo_filter: str) -> None:
    ecr.put_registry_scanning_configuration(
        scanType=scan_type,
        rules=[
            {
                "scanFrequency": frequency,
                "repositoryFilters": [{"filter": repo_filter, "filterType": "WILDCARD"}],
            }
        ],
    )


def set_policy(ecr, repo: str, statement: dict) -> None:
    ecr.set_repository_policy(
        repositoryName=repo, policyText=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )


# --- events ------------------------------------------------------------------------------------


def test_tag_resource_event_maps_a_namespaced_repository_arn():
    arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{REPO}"
    (target,) = normalise(ecr_event("TagResource", resourceArn=arn, tags=[])).targets
    assert (target.scope, target.ref.resource_id) == (REPOSITORY, REPO)
    # The ECR checks, plus (through the AI lineage) the endpoints serving images from it.
    assert target.check_ids & {SCAN, IMMUTABLE, PUBLIC, KMS} == {SCAN, IMMUTABLE, PUBLIC, KMS}


def test_registry_scanning_change_evaluates_every_repository(ecr, make_repo, aws):
    make_repo("ml/a", imageScanningConfiguration={"scanOnPush": True})
    make_repo("ml/b")
    invocation = normalise(ecr_event("PutRegistryScanningConfiguration", scanType="BASIC"))
    assert [(t.scope, t.ref, t.check_ids & {SCAN}) for t in invocation.targets] == [
        (REPOSITORY, None, {SCAN})
    ]
    statuses = {f.ref.resource_id: f.status for f in evaluate(invocation.targets, aws) if f.check_id == SCAN}
    assert statuses == {"ml/a": Status.PASS, "ml/b": Status.FAIL}


# --- ecr_repository_scan_on_push_enabled ---------------------------------------------------------


def test_scan_passes_with_scan_on_push(make_repo, aws):
    make_repo(imageScanningConfiguration={"scanOnPush": True})
    finding = check_finding(SCAN, REPO, aws)
    assert finding.status is Status.PASS
    assert finding.reason == f"repository {REPO} scans images on push"


@pytest.mark.parametrize(
    ("scan_type", "frequency", "repo_filter"),
    [
        ("ENHANCED", "CONTINUOUS_SCAN", "*"),
        ("ENHANCED", "SCAN_ON_PUSH", "ml/*"),
        ("BASIC", "SCAN_ON_PUSH", REPO),
    ],
)
def test_scan_passes_when_a_registry_rule_covers_the_repository(
    ecr, make_repo, aws, scan_type, frequency, repo_filter
):
    make_repo()
    registry_rule(ecr, scan_type, frequency, repo_filter)
    finding = check_finding(SCAN, REPO, aws)
    assert finding.status is Status.PASS
    assert f"registry's {scan_type} scanning rule ({frequency})" in finding.reason


def test_scan_fails_without_scan_on_push_or_registry_rule(make_repo, aws):
    make_repo()
    finding = check_finding(SCAN, REPO, aws)
    assert finding.status is Status.FAIL
    assert finding.reason == (
        f"repository {REPO} does not scan images on push and no BASIC registry scanning rule covers it"
    )


@pytest.mark.parametrize(
    ("frequency", "repo_filter"),
    [("CONTINUOUS_SCAN", "prod/*"), ("MANUAL", "*")],
    ids=["other-repos", "manual"],
)
def test_scan_fails_when_the_registry_rules_miss_the_repository(ecr, make_repo, aws, frequency, repo_filter):
    make_repo()
    registry_rule(ecr, "ENHANCED" if frequency != "MANUAL" else "BASIC", frequency, repo_filter)
    assert check_finding(SCAN, REPO, aws).status is Status.FAIL


def test_scan_exempt_repository_is_reported_exempt(make_repo, aws):
    make_repo(exempt="true")
    finding = check_finding(SCAN, REPO, aws)
    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_scan_deleted_repository_is_not_applicable(ecr, make_repo, aws):
    ecr.delete_repository(repositoryName=make_repo())
    assert check_finding(SCAN, REPO, aws).status is Status.NOT_APPLICABLE


# --- ecr_repository_tag_immutability_enabled ------------------------------------------------------


def test_immutability_passes_for_immutable_tags(make_repo, aws):
    make_repo(imageTagMutability="IMMUTABLE")
    assert check_finding(IMMUTABLE, REPO, aws).status is Status.PASS


def test_immutability_fails_for_mutable_tags(ecr, make_repo, aws):
    make_repo(imageTagMutability="IMMUTABLE")
    ecr.put_image_tag_mutability(repositoryName=REPO, imageTagMutability="MUTABLE")
    finding = check_finding(IMMUTABLE, REPO, aws)
    assert finding.status is Status.FAIL
    assert finding.reason == f"repository {REPO} lets image tags be overwritten (MUTABLE)"


@pytest.mark.parametrize(
    ("mutability", "status"),
    [("IMMUTABLE_WITH_EXCLUSION", Status.PASS), ("MUTABLE_WITH_EXCLUSION", Status.FAIL)],
)
def test_immutability_with_exclusion_filters(aws, mutability, status):
    # moto has no exclusion filters: evaluate a DescribeRepositories item of the real shape.
    all_checks()
    data = {
        "repositoryName": REPO,
        "imageTagMutability": mutability,
        "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"}],
    }
    repo = Resource(ResourceRef(REPOSITORY, REPO, REGION, ACCOUNT), data)
    outcome = REGISTRY[IMMUTABLE].evaluate(repo, aws)
    assert outcome.status is status
    if status is Status.PASS:
        assert outcome.reason.endswith("except those matching latest")


def test_immutability_exempt_repository_is_reported_exempt(make_repo, aws):
    make_repo(exempt="true")
    assert check_finding(IMMUTABLE, REPO, aws).status is Status.EXEMPT


def test_immutability_deleted_repository_is_not_applicable(aws):
    assert check_finding(IMMUTABLE, "ml/never-created", aws).status is Status.NOT_APPLICABLE


# --- ecr_repository_policy_not_public -------------------------------------------------------------


def test_policy_passes_without_a_repository_policy(make_repo, aws):
    make_repo()
    finding = check_finding(PUBLIC, REPO, aws)
    assert finding.status is Status.PASS


def test_policy_passes_for_named_accounts(ecr, make_repo, aws):
    make_repo()
    set_policy(
        ecr,
        REPO,
        {
            "Sid": "Pull",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": PULL,
        },
    )
    assert check_finding(PUBLIC, REPO, aws).status is Status.PASS


def test_policy_fails_for_everyone(ecr, make_repo, aws):
    make_repo()
    set_policy(ecr, REPO, {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": PULL})
    finding = check_finding(PUBLIC, REPO, aws)
    assert finding.status is Status.FAIL
    assert finding.reason == (
        f"repository {REPO}'s policy lets every principal in without a restricting condition "
        "(statement PublicRead)"
    )


def test_policy_passes_for_everyone_in_the_organization(ecr, make_repo, aws):
    make_repo()
    statement = {
        "Sid": "OrgPull",
        "Effect": "Allow",
        "Principal": "*",
        "Action": PULL,
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    }
    set_policy(ecr, REPO, statement)
    assert check_finding(PUBLIC, REPO, aws).status is Status.PASS


def test_policy_exempt_repository_is_reported_exempt(ecr, make_repo, aws):
    make_repo(exempt="true")
    set_policy(ecr, REPO, {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": PULL})
    finding = check_finding(PUBLIC, REPO, aws)
    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_policy_deleted_repository_is_not_applicable(aws):
    assert check_finding(PUBLIC, "ml/never-created", aws).status is Status.NOT_APPLICABLE


# --- ecr_repository_kms_encrypted -----------------------------------------------------------------


@pytest.fixture
def customer_key(aws) -> str:
    return str(aws.client("kms").create_key()["KeyMetadata"]["Arn"])


@pytest.fixture
def aws_managed_key(aws) -> str:
    """A key that reports KeyManager AWS, as aws/ecr does (moto creates every key customer managed)."""
    from moto.kms.models import kms_backends

    metadata = aws.client("kms").create_key(Description="Default key")["KeyMetadata"]
    kms_backends[ACCOUNT][REGION].keys[metadata["KeyId"]].key_manager = "AWS"
    return str(metadata["Arn"])


@pytest.mark.parametrize("encryption_type", ["KMS", "KMS_DSSE"])
def test_kms_passes_with_a_customer_managed_key(make_repo, customer_key, aws, encryption_type):
    make_repo(encryptionConfiguration={"encryptionType": encryption_type, "kmsKey": customer_key})
    finding = check_finding(KMS, REPO, aws)
    assert finding.status is Status.PASS
    assert customer_key in finding.reason


def test_kms_fails_for_aes256(make_repo, aws):
    make_repo()
    finding = check_finding(KMS, REPO, aws)
    assert finding.status is Status.FAIL
    assert finding.reason == f"repository {REPO} encrypts images with AES256, not a KMS key"


def test_kms_fails_for_the_aws_managed_key(make_repo, aws_managed_key, aws):
    make_repo(encryptionConfiguration={"encryptionType": "KMS", "kmsKey": aws_managed_key})
    finding = check_finding(KMS, REPO, aws)
    assert finding.status is Status.FAIL
    assert "AWS managed key aws/ecr" in finding.reason


def test_kms_fails_for_a_deleted_key(make_repo, aws):
    gone = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    make_repo(encryptionConfiguration={"encryptionType": "KMS", "kmsKey": gone})
    finding = check_finding(KMS, REPO, aws)
    assert finding.status is Status.FAIL
    assert "which no longer exists" in finding.reason


def test_kms_exempt_repository_is_reported_exempt(make_repo, aws):
    make_repo(exempt="true")
    assert check_finding(KMS, REPO, aws).status is Status.EXEMPT


def test_kms_deleted_repository_is_not_applicable(aws):
    assert check_finding(KMS, "ml/never-created", aws).status is Status.NOT_APPLICABLE
