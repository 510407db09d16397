"""CloudTrail checks on moto: the multi-Region management trail, log file validation, KMS
encryption of trails, and S3 object-level events on the buckets AI resources use."""

from __future__ import annotations

from typing import Any

import pytest

from aiwarden.events import normalise
from aiwarden.model import Status
from aiwarden.resources.account import ACCOUNT as ACCOUNT_TYPE
from aiwarden.resources.cloudtrail import TRAIL, management_coverage, s3_object_coverage
from tests.unit.helpers import ACCOUNT, REGION, check_finding

MULTI_REGION = "cloudtrail_multi_region_trail_logging"
VALIDATION = "cloudtrail_trail_log_file_validation_enabled"
KMS = "cloudtrail_trail_kms_encrypted"
DATA_EVENTS = "cloudtrail_s3_data_events_on_ai_buckets"
LOG_BUCKET = "aiw-cloudtrail-logs"
MODEL_BUCKET = "aiw-model-artifacts"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/aiw-sagemaker"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/aiw-inference:1"

ALL_OBJECTS = [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]


def data_selector(read_write: str = "All", values: list[str] | None = None) -> dict[str, Any]:
    return {
        "ReadWriteType": read_write,
        "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": values or ["arn:aws:s3"]}],
    }


def field(name: str, **operators: list[str]) -> dict[str, Any]:
    return {"Field": name, **operators}


def s3_objects(*extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "Name": "S3 objects",
        "FieldSelectors": [
            field("eventCategory", Equals=["Data"]),
            field("resources.type", Equals=["AWS::S3::Object"]),
            *extra,
        ],
    }


MANAGEMENT = {"Name": "Management", "FieldSelectors": [field("eventCategory", Equals=["Management"])]}


@pytest.fixture
def make_trail(aws):
    """A trail; selectors are left at CloudTrail's default (all management events) unless given."""
    aws.client("s3").create_bucket(Bucket=LOG_BUCKET)

    def make(
        name: str = "aiw-trail",
        *,
        multi_region: bool = True,
        logging: bool = True,
        validation: bool = False,
        kms: bool = False,
        selectors: list[dict[str, Any]] | None = None,
        advanced: list[dict[str, Any]] | None = None,
        exempt: str | None = None,
        region: str = REGION,
    ) -> str:
        cloudtrail = aws.client("cloudtrail", region)
        extra: dict[str, Any] = {}
        if kms:
            extra["KmsKeyId"] = aws.client("kms", region).create_key()["KeyMetadata"]["Arn"]
        if exempt is not None:
            extra["TagsList"] = [{"Key": "aiwarden:exempt", "Value": exempt}]
        cloudtrail.create_trail(
            Name=name,
            S3BucketName=LOG_BUCKET,
            IsMultiRegionTrail=multi_region,
            EnableLogFileValidation=validation,
            **extra,
        )
        if selectors is not None:
            cloudtrail.put_event_selectors(TrailName=name, EventSelectors=selectors)
        if advanced is not None:
            cloudtrail.put_event_selectors(TrailName=name, AdvancedEventSelectors=advanced)
        if logging:
            cloudtrail.start_logging(Name=name)
        return name

    return make


@pytest.fixture
def ai_bucket(aws) -> str:
    """A bucket a SageMaker model loads its artifacts from: what bucket_usage.ai_buckets finds."""
    aws.client("s3").create_bucket(Bucket=MODEL_BUCKET)
    aws.client("sagemaker").create_model(
        ModelName="aiw-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{MODEL_BUCKET}/model.tar.gz"},
    )
    return MODEL_BUCKET


def cloudtrail_event(event_name: str, request: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6f1c3e59-aiw",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.cloudtrail",
        "account": ACCOUNT,
        "region": REGION,
        "detail": {
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": event_name,
            "awsRegion": REGION,
            "recipientAccountId": ACCOUNT,
            "requestParameters": request,
            "responseElements": None,
        },
    }


# --- cloudtrail_multi_region_trail_logging -------------------------------------------------


def test_logging_multi_region_trail_with_default_selectors_passes(make_trail, aws):
    make_trail()

    finding = check_finding(MULTI_REGION, ACCOUNT, aws)

    assert finding.status is Status.PASS
    assert "aiw-trail" in finding.reason


def test_explicit_read_and_write_management_selector_passes(make_trail, aws):
    make_trail(selectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}])

    assert check_finding(MULTI_REGION, ACCOUNT, aws).status is Status.PASS


def test_separate_read_only_and_write_only_selectors_pass(make_trail, aws):
    make_trail(
        selectors=[
            {"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True},
            {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True},
        ]
    )

    assert check_finding(MULTI_REGION, ACCOUNT, aws).status is Status.PASS


def test_no_trail_fails(aws):
    finding = check_finding(MULTI_REGION, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "no multi-Region CloudTrail trail" in finding.reason


def test_stopped_multi_region_trail_fails(make_trail, aws):
    make_trail(logging=False)

    finding = check_finding(MULTI_REGION, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "aiw-trail" in finding.reason
    assert "is not logging" in finding.reason


def test_single_region_trail_does_not_count(make_trail, aws):
    make_trail(multi_region=False)

    finding = check_finding(MULTI_REGION, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "no multi-Region" in finding.reason


def test_write_only_management_events_fail(make_trail, aws):
    make_trail(selectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}])

    finding = check_finding(MULTI_REGION, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "only write management events" in finding.reason


def test_excluded_management_event_source_fails(make_trail, aws):
    make_trail(
        selectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "ExcludeManagementEventSources": ["kms.amazonaws.com"],
            }
        ]
    )

    finding = check_finding(MULTI_REGION, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "excludes kms.amazonaws.com" in finding.reason


def test_data_events_only_trail_fails(make_trail, aws):
    make_trail(
        selectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False, "DataResources": ALL_OBJECTS}]
    )

    finding = check_finding(MULTI_REGION, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "records no management events" in finding.reason


def test_advanced_management_selector_passes(make_trail, aws):
    make_trail(advanced=[MANAGEMENT])

    assert check_finding(MULTI_REGION, ACCOUNT, aws).status is Status.PASS


def test_advanced_write_only_management_selector_fails(make_trail, aws):
    selector = {
        "Name": "Writes",
        "FieldSelectors": [
            field("eventCategory", Equals=["Management"]),
            field("readOnly", Equals=["false"]),
        ],
    }
    make_trail(advanced=[selector])

    finding = check_finding(MULTI_REGION, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "only write" in finding.reason


def test_one_good_trail_among_bad_ones_passes(make_trail, aws):
    make_trail("aiw-stopped", logging=False)
    make_trail("aiw-good")

    finding = check_finding(MULTI_REGION, ACCOUNT, aws)

    assert finding.status is Status.PASS
    assert "aiw-good" in finding.reason


def test_multi_region_trail_of_another_home_region_counts(make_trail, aws):
    make_trail("aiw-org-trail", region="eu-west-1")

    finding = check_finding(MULTI_REGION, ACCOUNT, aws)

    assert finding.status is Status.PASS
    assert "eu-west-1" in finding.reason


def test_trail_changes_reevaluate_the_account():
    invocation = normalise(cloudtrail_event("StopLogging", {"name": "aiw-trail"}))

    account_targets = [t for t in invocation.targets if t.scope is ACCOUNT_TYPE]
    assert len(account_targets) == 1
    assert account_targets[0].ref is None  # every account ref: the check lists the account
    assert {MULTI_REGION, DATA_EVENTS} <= account_targets[0].check_ids


# --- cloudtrail_trail_log_file_validation_enabled ------------------------------------------


def test_trail_with_log_file_validation_passes(make_trail, aws):
    make_trail(validation=True)

    finding = check_finding(VALIDATION, "aiw-trail", aws)

    assert finding.status is Status.PASS
    assert finding.ref.arn == f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/aiw-trail"


def test_trail_without_log_file_validation_fails(make_trail, aws):
    make_trail(validation=False)

    finding = check_finding(VALIDATION, "aiw-trail", aws)

    assert finding.status is Status.FAIL
    assert "aiw-trail" in finding.reason


def test_validation_turned_on_later_passes(make_trail, aws):
    make_trail(validation=False)
    aws.client("cloudtrail").update_trail(Name="aiw-trail", EnableLogFileValidation=True)

    assert check_finding(VALIDATION, "aiw-trail", aws).status is Status.PASS


def test_exempt_trail_without_validation_is_exempt(make_trail, aws):
    make_trail(validation=False, exempt="true")

    finding = check_finding(VALIDATION, "aiw-trail", aws)

    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_missing_trail_is_not_applicable(make_trail, aws):
    make_trail("aiw-other")

    assert check_finding(VALIDATION, "aiw-trail", aws).status is Status.NOT_APPLICABLE


def test_update_trail_by_arn_names_the_trail():
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/aiw-trail"
    invocation = normalise(cloudtrail_event("UpdateTrail", {"name": arn, "enableLogFileValidation": False}))

    trail_targets = [t for t in invocation.targets if t.scope is TRAIL]
    assert [t.ref.resource_id for t in trail_targets] == ["aiw-trail"]
    assert {VALIDATION, KMS} <= trail_targets[0].check_ids


# --- cloudtrail_trail_kms_encrypted --------------------------------------------------------


def test_kms_encrypted_trail_passes(make_trail, aws):
    make_trail(kms=True)

    finding = check_finding(KMS, "aiw-trail", aws)

    assert finding.status is Status.PASS
    assert "arn:aws:kms" in finding.reason


def test_trail_without_kms_key_fails(make_trail, aws):
    make_trail()

    finding = check_finding(KMS, "aiw-trail", aws)

    assert finding.status is Status.FAIL
    assert "SSE-S3" in finding.reason


def test_exempt_unencrypted_trail_is_exempt(make_trail, aws):
    make_trail(exempt="true")

    assert check_finding(KMS, "aiw-trail", aws).status is Status.EXEMPT


def test_deleted_trail_is_not_applicable(make_trail, aws):
    make_trail()
    aws.client("cloudtrail").delete_trail(Name="aiw-trail")

    assert check_finding(KMS, "aiw-trail", aws).status is Status.NOT_APPLICABLE


# --- cloudtrail_s3_data_events_on_ai_buckets -----------------------------------------------


def test_no_ai_buckets_passes(make_trail, aws):
    aws.client("s3").create_bucket(Bucket="aiw-unrelated")
    make_trail()

    finding = check_finding(DATA_EVENTS, ACCOUNT, aws)

    assert finding.status is Status.PASS
    assert "no bucket" in finding.reason


def test_ai_bucket_without_data_events_fails(ai_bucket, make_trail, aws):
    make_trail()

    finding = check_finding(DATA_EVENTS, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert MODEL_BUCKET in finding.reason
    assert "SageMaker model aiw-model" in finding.reason
    assert "records no object-level events" in finding.reason


def test_all_bucket_data_events_pass(ai_bucket, make_trail, aws):
    make_trail(selectors=[data_selector()])

    finding = check_finding(DATA_EVENTS, ACCOUNT, aws)

    assert finding.status is Status.PASS
    assert "1 bucket" in finding.reason


def test_data_events_scoped_to_the_ai_bucket_pass(ai_bucket, make_trail, aws):
    make_trail(selectors=[data_selector(values=[f"arn:aws:s3:::{MODEL_BUCKET}/"])])

    assert check_finding(DATA_EVENTS, ACCOUNT, aws).status is Status.PASS


def test_data_events_on_another_bucket_fail(ai_bucket, make_trail, aws):
    make_trail(selectors=[data_selector(values=["arn:aws:s3:::aiw-other-bucket/"])])

    assert check_finding(DATA_EVENTS, ACCOUNT, aws).status is Status.FAIL


def test_data_events_on_a_prefix_only_fail(ai_bucket, make_trail, aws):
    make_trail(selectors=[data_selector(values=[f"arn:aws:s3:::{MODEL_BUCKET}/logs/"])])

    assert check_finding(DATA_EVENTS, ACCOUNT, aws).status is Status.FAIL


def test_write_only_data_events_fail(ai_bucket, make_trail, aws):
    make_trail(selectors=[data_selector("WriteOnly")])

    finding = check_finding(DATA_EVENTS, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "only write" in finding.reason


def test_read_and_write_split_across_two_trails_pass(ai_bucket, make_trail, aws):
    make_trail("aiw-reads", selectors=[data_selector("ReadOnly")])
    make_trail("aiw-writes", selectors=[data_selector("WriteOnly")])

    assert check_finding(DATA_EVENTS, ACCOUNT, aws).status is Status.PASS


def test_data_events_on_a_stopped_trail_fail(ai_bucket, make_trail, aws):
    make_trail(selectors=[data_selector()], logging=False)

    assert check_finding(DATA_EVENTS, ACCOUNT, aws).status is Status.FAIL


def test_advanced_selector_for_the_ai_bucket_passes(ai_bucket, make_trail, aws):
    make_trail(
        advanced=[
            MANAGEMENT,
            s3_objects(field("resources.ARN", StartsWith=[f"arn:aws:s3:::{MODEL_BUCKET}/"])),
        ]
    )

    assert check_finding(DATA_EVENTS, ACCOUNT, aws).status is Status.PASS


def test_advanced_selector_narrowed_by_event_name_fails(ai_bucket, make_trail, aws):
    make_trail(advanced=[s3_objects(field("eventName", Equals=["PutObject"]))])

    assert check_finding(DATA_EVENTS, ACCOUNT, aws).status is Status.FAIL


def test_advanced_selector_excluding_part_of_the_bucket_fails(ai_bucket, make_trail, aws):
    make_trail(
        advanced=[s3_objects(field("resources.ARN", NotStartsWith=[f"arn:aws:s3:::{MODEL_BUCKET}/tmp/"]))]
    )

    assert check_finding(DATA_EVENTS, ACCOUNT, aws).status is Status.FAIL


def test_advanced_selector_excluding_another_bucket_passes(ai_bucket, make_trail, aws):
    make_trail(advanced=[s3_objects(field("resources.ARN", NotStartsWith=["arn:aws:s3:::aiw-noisy-logs/"]))])

    assert check_finding(DATA_EVENTS, ACCOUNT, aws).status is Status.PASS


# --- selector analysis, account-wide ---------------------------------------------------------


@pytest.mark.parametrize(
    ("selectors", "read", "write"),
    [
        ({"EventSelectors": [data_selector()]}, True, True),
        ({"EventSelectors": [data_selector(values=["arn:aws:s3:::"])]}, True, True),
        ({"EventSelectors": [data_selector(values=["arn:aws:s3:::one-bucket/"])]}, False, False),
        ({"AdvancedEventSelectors": [s3_objects()]}, True, True),
        ({"AdvancedEventSelectors": [s3_objects(field("readOnly", Equals=["true"]))]}, True, False),
        (
            {"AdvancedEventSelectors": [s3_objects(field("resources.ARN", NotEquals=["arn:aws:s3:::b/k"]))]},
            False,
            False,
        ),
        ({"AdvancedEventSelectors": [MANAGEMENT]}, False, False),
    ],
)
def test_account_wide_s3_object_coverage(selectors, read, write):
    coverage = s3_object_coverage(selectors)

    assert (coverage.read, coverage.write) == (read, write)


def test_no_selectors_means_cloudtrails_default_all_management_events():
    assert management_coverage({"EventSelectors": [], "AdvancedEventSelectors": []}).complete
