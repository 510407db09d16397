"""AWS Config: the configuration recorder that keeps the history of every AI resource's settings."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.registry import ALL_RESOURCES, check, cloudtrail
from aiwarden.resources import config
from aiwarden.resources.account import ACCOUNT


# Tested with moto, and with Stubber for a failed delivery (moto never reports one).
@check(
    id="config_recorder_recording",
    title="An AWS Config configuration recorder is recording without errors",
    severity=Severity.MEDIUM,
    resource=ACCOUNT,
    triggers=[
        cloudtrail(
            "config",
            "PutConfigurationRecorder",
            "StartConfigurationRecorder",
            "StopConfigurationRecorder",
            "DeleteConfigurationRecorder",
            ids=ALL_RESOURCES,
        )
    ],
    permissions=["config:DescribeConfigurationRecorderStatus"],
    practice=Practice.LOGGING_AND_MONITORING,
    remediation=(
        "Record every supported resource type (or at least the AI ones: SageMaker, Bedrock, S3, "
        "IAM, KMS) with a delivery channel, then start the recorder: aws configservice "
        "put-configuration-recorder --configuration-recorder name=default,roleARN=ROLE_ARN "
        "--recording-group allSupported=true,includeGlobalResourceTypes=true; aws configservice "
        "put-delivery-channel --delivery-channel name=default,s3BucketName=BUCKET; aws "
        "configservice start-configuration-recorder --configuration-recorder-name default. If it "
        "records but lastStatus is FAILURE, fix what lastErrorCode names (usually the role or the "
        "delivery bucket's policy)."
    ),
    controls={
        "AWS-FSBP": ["Config.1"],
        "CIS-AWS-5.0": ["3.3"],
        "NIST-800-53r5": ["CM-3", "CM-6(1)", "CM-8", "CM-8(2)"],
        "HIPAA": ["164.308(a)(1)(ii)(a)"],
        "GDPR": ["Art.25", "Art.30"],
    },
)
def recorder_recording(account: Resource, clients: Clients) -> Outcome:
    region = account.ref.region
    statuses = config.recorder_statuses(clients, region)
    if not statuses:
        return fail(f"account {account.name} has no AWS Config configuration recorder in {region}")
    problems = []
    for status in statuses:
        name = status.get("name", "?")
        last = str(status.get("lastStatus") or "")
        if not status.get("recording"):
            problems.append(f"recorder {name} is stopped")
        elif last.upper() == "FAILURE":
            error = status.get("lastErrorCode") or "no error code"
            problems.append(f"recorder {name} is recording but its last delivery failed ({error})")
        else:
            return ok(f"account {account.name}: AWS Config recorder {name} is recording in {region}")
    return fail(
        f"account {account.name} is not recording configuration changes in {region}: " + "; ".join(problems)
    )
