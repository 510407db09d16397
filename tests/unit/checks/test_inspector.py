"""Amazon Inspector ECR scanning for the account (AWS::::Account: no tags, so no exempt case,
and the account never disappears, so no resource-gone case)."""

from __future__ import annotations

import copy

import pytest
from botocore.stub import Stubber

from aiwarden.engine import evaluate
from aiwarden.events import normalise
from aiwarden.model import Status
from aiwarden.resources.account import ACCOUNT as ACCOUNT_TYPE
from tests.conftest import load_event
from tests.unit.helpers import ACCOUNT, REGION, check_finding

CHECK = "inspector_ecr_scanning_enabled"


@pytest.fixture
def inspector(aws):
    return aws.client("inspector2")


def inspector_event(event_name: str) -> dict:
    """A real CloudTrail envelope re-pointed at Inspector."""
    event = copy.deepcopy(load_event("cloudtrail/s3_delete_bucket_public_access_block.json"))
    event["source"] = "aws.inspector2"
    event["detail"]["eventSource"] = "inspector2.amazonaws.com"
    event["detail"]["eventName"] = event_name
    event["detail"]["requestParameters"] = {"accountIds": [ACCOUNT], "resourceTypes": ["ECR"]}
    return event


def test_passes_when_ecr_scanning_is_enabled(inspector, aws):
    inspector.enable(accountIds=[ACCOUNT], resourceTypes=["ECR"])
    finding = check_finding(CHECK, ACCOUNT, aws)
    assert finding.status is Status.PASS
    assert finding.reason == f"account {ACCOUNT} has Inspector ECR scanning ENABLED in {REGION}"


def test_fails_when_inspector_was_never_activated(aws):
    finding = check_finding(CHECK, ACCOUNT, aws)
    assert finding.status is Status.FAIL
    assert finding.reason == (
        f"account {ACCOUNT} does not have Inspector ECR scanning in {REGION} (status DISABLED)"
    )


def test_fails_when_only_other_resource_types_are_scanned(inspector, aws):
    inspector.enable(accountIds=[ACCOUNT], resourceTypes=["EC2", "LAMBDA"])
    assert check_finding(CHECK, ACCOUNT, aws).status is Status.FAIL


def test_fails_after_ecr_scanning_is_disabled(inspector, aws):
    inspector.enable(accountIds=[ACCOUNT], resourceTypes=["ECR"])
    inspector.disable(accountIds=[ACCOUNT], resourceTypes=["ECR"])
    assert check_finding(CHECK, ACCOUNT, aws).status is Status.FAIL


def _state(status: str) -> dict:
    return {"status": status, "errorCode": "ALREADY_ENABLED", "errorMessage": "-"}


# moto always reports ENABLED/DISABLED: the transitional states use BatchGetAccountStatus's real
# response shape (botocore inspector2 service-2.json: AccountState, ResourceState, State).
@pytest.mark.parametrize(
    ("status", "expected"),
    [("ENABLING", Status.PASS), ("DISABLING", Status.FAIL), ("SUSPENDED", Status.FAIL)],
)
def test_transitional_states_tested_with_stubber(inspector, aws, status, expected):
    response = {
        "accounts": [
            {
                "accountId": ACCOUNT,
                "state": _state("ENABLED"),
                "resourceState": {"ec2": _state("ENABLED"), "ecr": _state(status)},
            }
        ],
        "failedAccounts": [],
    }
    with Stubber(inspector) as stub:
        stub.add_response("batch_get_account_status", response, {"accountIds": [ACCOUNT]})
        finding = check_finding(CHECK, ACCOUNT, aws)
    assert finding.status is expected
    assert status in finding.reason


def test_failed_account_status_is_an_error_tested_with_stubber(inspector, aws):
    response = {
        "accounts": [],
        "failedAccounts": [
            {"accountId": ACCOUNT, "errorCode": "ACCESS_DENIED", "errorMessage": "not authorized"}
        ],
    }
    with Stubber(inspector) as stub:
        stub.add_response("batch_get_account_status", response, {"accountIds": [ACCOUNT]})
        finding = check_finding(CHECK, ACCOUNT, aws)
    assert finding.status is Status.ERROR
    assert "ACCESS_DENIED: not authorized" in finding.reason


@pytest.mark.parametrize("event_name", ["Enable", "Disable"])
def test_enable_and_disable_events_evaluate_the_account(inspector, aws, event_name):
    inspector.enable(accountIds=[ACCOUNT], resourceTypes=["ECR"])
    invocation = normalise(inspector_event(event_name))
    account_targets = [t for t in invocation.targets if t.scope is ACCOUNT_TYPE]
    assert [(t.ref, CHECK in t.check_ids) for t in account_targets] == [(None, True)]
    findings = [f for f in evaluate(account_targets, aws) if f.check_id == CHECK]
    assert [(f.ref.resource_id, f.status) for f in findings] == [(ACCOUNT, Status.PASS)]
