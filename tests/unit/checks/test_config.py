"""config_recorder_recording on moto: a configuration recorder must exist and be recording. moto
never reports a failed delivery, so that case is tested with Stubber on botocore's config shape."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from aiwarden.model import Status
from tests.unit.helpers import ACCOUNT, check_finding

RECORDER = "config_recorder_recording"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"


@pytest.fixture
def config(aws):
    return aws.client("config")


@pytest.fixture
def recorder(aws, config):
    """A recorder with a delivery channel, not started."""
    aws.client("s3").create_bucket(Bucket="aiw-config-history")
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": ROLE,
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "aiw-config-history"})
    return "default"


def test_recording_recorder_passes(recorder, config, aws):
    config.start_configuration_recorder(ConfigurationRecorderName=recorder)

    finding = check_finding(RECORDER, ACCOUNT, aws)

    assert finding.status is Status.PASS
    assert "recorder default is recording" in finding.reason


def test_no_recorder_fails(aws):
    finding = check_finding(RECORDER, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "no AWS Config configuration recorder" in finding.reason


def test_recorder_never_started_fails(recorder, aws):
    finding = check_finding(RECORDER, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "recorder default is stopped" in finding.reason


def test_stopped_recorder_fails(recorder, config, aws):
    config.start_configuration_recorder(ConfigurationRecorderName=recorder)
    config.stop_configuration_recorder(ConfigurationRecorderName=recorder)

    assert check_finding(RECORDER, ACCOUNT, aws).status is Status.FAIL


def test_deleted_recorder_fails(recorder, config, aws):
    config.delete_configuration_recorder(ConfigurationRecorderName=recorder)

    assert check_finding(RECORDER, ACCOUNT, aws).status is Status.FAIL


def test_recording_with_failed_delivery_fails(config, aws):
    status = {
        "arn": f"arn:aws:config:us-east-1:{ACCOUNT}:configuration-recorder/default/abc",
        "name": "default",
        "recording": True,
        "lastStatus": "Failure",
        "lastErrorCode": "AccessDenied",
        "lastErrorMessage": "Unable to write to the delivery bucket",
    }
    with Stubber(config) as stub:
        stub.add_response(
            "describe_configuration_recorder_status", {"ConfigurationRecordersStatus": [status]}
        )

        finding = check_finding(RECORDER, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "last delivery failed (AccessDenied)" in finding.reason


def test_recording_with_successful_delivery_passes(config, aws):
    status = {"name": "default", "recording": True, "lastStatus": "Success"}
    with Stubber(config) as stub:
        stub.add_response(
            "describe_configuration_recorder_status", {"ConfigurationRecordersStatus": [status]}
        )

        assert check_finding(RECORDER, ACCOUNT, aws).status is Status.PASS
