"""The Config rule path: custom-rule invocations answered with PutEvaluations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from aiwarden import engine
from aiwarden.clients import Clients
from aiwarden.engine import Runtime, config_evaluations, handle_config_rule, process, put_evaluations
from aiwarden.events import normalise
from tests.conftest import ACCOUNT, REGION, load_event

KMS = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}
SSE_S3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::aiw-datasets-plain", "arn:aws:s3:::aiw-datasets-plain/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def bucket(aws: Clients, encryption: dict[str, Any], tags: dict[str, str] | None = None) -> None:
    """A bucket compliant with every encryption check except, perhaps, its default encryption."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="aiw-datasets-plain")
    s3.put_bucket_encryption(Bucket="aiw-datasets-plain", ServerSideEncryptionConfiguration=encryption)
    s3.put_bucket_policy(Bucket="aiw-datasets-plain", Policy=json.dumps(TLS_ONLY))
    if tags:
        s3.put_bucket_tagging(
            Bucket="aiw-datasets-plain", Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
        )


def evaluations(event: dict[str, Any], aws: Clients) -> list[dict[str, Any]]:
    return config_evaluations(process(event, lambda _: aws))


def test_invocation_is_parsed_with_its_token_and_practice():
    invocation = normalise(load_event("config_rule/configuration_item_change_s3_bucket.json"))
    request = invocation.config_rule
    assert request is not None
    assert request.result_token == "eyJlbmNyeXB0ZWREYXRhIjpbLTEyLDU0LDEyNF19"
    assert request.practice == "ENCRYPTION"
    assert [t.ref.resource_id for t in invocation.targets] == ["aiw-datasets-plain"]


def test_non_compliant_bucket_is_reported_with_the_failing_check(aws):
    bucket(aws, SSE_S3)
    [evaluation] = evaluations(load_event("config_rule/configuration_item_change_s3_bucket.json"), aws)
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"
    assert evaluation["ComplianceResourceType"] == "AWS::S3::Bucket"
    assert evaluation["ComplianceResourceId"] == "aiw-datasets-plain"
    assert evaluation["Annotation"].startswith("s3_bucket_default_encryption_kms: ")
    # The rule reports its own practice only: public access is another rule's business.
    assert "s3_bucket_public_access_blocked" not in evaluation["Annotation"]


def test_compliant_bucket(aws):
    bucket(aws, KMS)
    [evaluation] = evaluations(load_event("config_rule/configuration_item_change_s3_bucket.json"), aws)
    assert evaluation["ComplianceType"] == "COMPLIANT"


def test_exempt_bucket_is_not_applicable_with_the_tag_as_annotation(aws):
    bucket(aws, SSE_S3, {"aiwarden:exempt": "true"})
    [evaluation] = evaluations(load_event("config_rule/configuration_item_change_s3_bucket.json"), aws)
    assert evaluation["ComplianceType"] == "NOT_APPLICABLE"
    assert "aiwarden:exempt" in evaluation["Annotation"]


@pytest.mark.parametrize("name", ["configuration_item_deleted_s3_bucket.json", "event_left_scope.json"])
def test_deleted_or_out_of_scope_is_not_applicable_without_describing(aws, name):
    [evaluation] = evaluations(load_event(f"config_rule/{name}"), aws)
    assert evaluation["ComplianceType"] == "NOT_APPLICABLE"
    assert evaluation["ComplianceResourceId"] == "aiw-datasets-plain"


def test_oversized_item_is_re_described(aws):
    bucket(aws, SSE_S3)
    [evaluation] = evaluations(load_event("config_rule/oversized_configuration_item_change.json"), aws)
    assert evaluation["ComplianceType"] == "NON_COMPLIANT"


def test_iam_user_is_reported_under_configs_own_resource_id(aws):
    iam = aws.client("iam")
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Correct-Horse-Battery-9")
    event = load_event("config_rule/configuration_item_change_s3_bucket.json")
    invoking = json.loads(event["invokingEvent"])
    invoking["configurationItem"].update(
        resourceType="AWS::IAM::User",
        resourceId="AIDAEXAMPLEUSERID0001",
        resourceName="bob",
        awsRegion="global",
    )
    event.update(
        invokingEvent=json.dumps(invoking), ruleParameters=json.dumps({"practice": "MFA_AND_PASSWORDS"})
    )
    [evaluation] = evaluations(event, aws)
    assert (evaluation["ComplianceResourceId"], evaluation["ComplianceType"]) == (
        "AIDAEXAMPLEUSERID0001",
        "NON_COMPLIANT",
    )


def test_annotation_fits_configs_limit(aws):
    bucket(aws, SSE_S3)
    event = load_event("config_rule/configuration_item_change_s3_bucket.json")
    event["ruleParameters"] = "{}"  # no practice: every check for the type, a long annotation
    aws.client("s3").delete_public_access_block(Bucket="aiw-datasets-plain")
    [evaluation] = evaluations(event, aws)
    assert len(evaluation["Annotation"]) <= 256


def test_error_leaves_the_resource_out(aws, monkeypatch):
    bucket(aws, SSE_S3)

    def refuse(*_: Any, **__: Any) -> Any:
        raise RuntimeError("AccessDenied")

    monkeypatch.setattr("aiwarden.resources.s3.default_encryption", refuse)
    assert evaluations(load_event("config_rule/configuration_item_change_s3_bucket.json"), aws) == []


def test_handler_puts_evaluations_with_the_result_token(aws, monkeypatch):
    bucket(aws, SSE_S3)
    config = aws.client("config")
    runtime = Runtime(alert_topic_arn=None, region=REGION)
    monkeypatch.setattr(Runtime, "clients", lambda self, invocation: aws)
    with Stubber(config) as stub:
        stub.add_response(
            "put_evaluations",
            {"FailedEvaluations": []},
            {
                "ResultToken": "eyJlbmNyeXB0ZWREYXRhIjpbLTEyLDU0LDEyNF19",
                "Evaluations": [
                    {
                        "ComplianceResourceType": "AWS::S3::Bucket",
                        "ComplianceResourceId": "aiw-datasets-plain",
                        "ComplianceType": "NON_COMPLIANT",
                        "Annotation": ANY,
                        "OrderingTimestamp": ANY,
                    }
                ],
            },
        )
        out = handle_config_rule(load_event("config_rule/configuration_item_change_s3_bucket.json"), runtime)
        stub.assert_no_pending_responses()
    assert out["evaluations_put"] == 1


def test_refused_evaluations_raise_so_lambda_retries():
    class Config:
        def put_evaluations(self, **_: Any) -> dict[str, Any]:
            return {"FailedEvaluations": [{"ComplianceResourceId": "x"}]}

    with pytest.raises(RuntimeError, match="refused"):
        put_evaluations(Config(), "token", [{"ComplianceResourceId": "x"}])


def test_evaluations_go_in_batches_of_100():
    calls: list[int] = []

    class Config:
        def put_evaluations(self, Evaluations: list[Any], ResultToken: str) -> dict[str, Any]:
            calls.append(len(Evaluations))
            return {"FailedEvaluations": []}

    assert put_evaluations(Config(), "token", [{}] * 250) == 250
    assert calls == [100, 100, 50]


def test_scheduled_invocation_evaluates_only_account_wide_checks(aws):
    invocation = normalise(load_event("config_rule/scheduled_notification.json"))
    assert invocation.config_rule is not None
    assert all(t.scope.cfn_type == "AWS::::Account" for t in invocation.targets)
    result = process(load_event("config_rule/scheduled_notification.json"), lambda _: aws)
    assert {f.ref.type.cfn_type for f in result.findings} <= {"AWS::::Account"}
    assert engine.summary(result)["event_id"] == "config-rule-a1b2c3"
    assert ACCOUNT in {f.ref.resource_id for f in result.findings} or not result.findings
