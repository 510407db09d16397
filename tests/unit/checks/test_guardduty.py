"""guardduty_detector_enabled_with_s3_protection on moto: a detector must be enabled with S3
Protection, whether the detector reports it as a feature or as the legacy S3Logs data source."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from aiwarden.events import normalise
from aiwarden.model import Status
from aiwarden.resources.account import ACCOUNT as ACCOUNT_TYPE
from tests.unit.helpers import ACCOUNT, REGION, check_finding

GUARDDUTY = "guardduty_detector_enabled_with_s3_protection"


@pytest.fixture
def guardduty(aws):
    return aws.client("guardduty")


def s3_feature(status: str) -> list[dict[str, str]]:
    return [{"Name": "S3_DATA_EVENTS", "Status": status}]


def test_enabled_detector_with_s3_protection_feature_passes(guardduty, aws):
    detector = guardduty.create_detector(Enable=True, Features=s3_feature("ENABLED"))["DetectorId"]

    finding = check_finding(GUARDDUTY, ACCOUNT, aws)

    assert finding.status is Status.PASS
    assert detector in finding.reason


def test_legacy_s3_logs_data_source_passes(guardduty, aws):
    guardduty.create_detector(Enable=True, DataSources={"S3Logs": {"Enable": True}})

    assert check_finding(GUARDDUTY, ACCOUNT, aws).status is Status.PASS


def test_no_detector_fails(aws):
    finding = check_finding(GUARDDUTY, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "no GuardDuty detector" in finding.reason


def test_suspended_detector_fails(guardduty, aws):
    guardduty.create_detector(Enable=False, Features=s3_feature("ENABLED"))

    finding = check_finding(GUARDDUTY, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "is disabled" in finding.reason


def test_s3_protection_off_fails(guardduty, aws):
    guardduty.create_detector(Enable=True, Features=s3_feature("DISABLED"))

    finding = check_finding(GUARDDUTY, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "S3 Protection disabled" in finding.reason


def test_s3_protection_switched_off_later_fails(guardduty, aws):
    detector = guardduty.create_detector(Enable=True, Features=s3_feature("ENABLED"))["DetectorId"]
    guardduty.update_detector(DetectorId=detector, Features=s3_feature("DISABLED"))

    assert check_finding(GUARDDUTY, ACCOUNT, aws).status is Status.FAIL


def test_deleted_detector_fails(guardduty, aws):
    detector = guardduty.create_detector(Enable=True, Features=s3_feature("ENABLED"))["DetectorId"]
    guardduty.delete_detector(DetectorId=detector)

    assert check_finding(GUARDDUTY, ACCOUNT, aws).status is Status.FAIL


def test_feature_takes_precedence_over_legacy_data_source(guardduty, aws):
    # Real detectors report both; the feature is the current switch.
    detector = {
        "ServiceRole": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/guardduty.amazonaws.com/x",
        "Status": "ENABLED",
        "DataSources": {
            "CloudTrail": {"Status": "ENABLED"},
            "DNSLogs": {"Status": "ENABLED"},
            "FlowLogs": {"Status": "ENABLED"},
            "S3Logs": {"Status": "ENABLED"},
        },
        "Features": [{"Name": "S3_DATA_EVENTS", "Status": "DISABLED"}],
    }
    with Stubber(guardduty) as stub:
        stub.add_response("list_detectors", {"DetectorIds": ["d1"]})
        stub.add_response("get_detector", detector, {"DetectorId": "d1"})

        finding = check_finding(GUARDDUTY, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "S3 Protection disabled" in finding.reason


def test_update_detector_event_reevaluates_the_account():
    event = {
        "id": "e1",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.guardduty",
        "account": ACCOUNT,
        "region": REGION,
        "detail": {
            "eventSource": "guardduty.amazonaws.com",
            "eventName": "UpdateDetector",
            "awsRegion": REGION,
            "requestParameters": {"detectorId": "d1", "enable": False},
        },
    }

    targets = normalise(event).targets

    assert any(t.scope is ACCOUNT_TYPE and GUARDDUTY in t.check_ids for t in targets)
