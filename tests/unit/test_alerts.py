"""aiwarden.alerts: the SNS alert contract (subject, JSON body, filterable attributes)."""

from __future__ import annotations

import json

import pytest

from aiwarden import alerts
from aiwarden.events import normalise
from aiwarden.model import Finding, ResourceRef, Severity, Status, TriggerInfo
from aiwarden.resources.s3 import BUCKET
from tests.conftest import ACCOUNT, REGION, load_event

ACTOR = "arn:aws:sts::123456789012:assumed-role/DataScientist/jdoe"
TRIGGER = TriggerInfo(
    kind="cloudtrail",
    source="aws.s3",
    detail_type="AWS API Call via CloudTrail",
    event_name="PutBucketPolicy",
    event_id="080c4c0c-393d-49cd-aaec-ddf94250899c",
    actor=ACTOR,
)
CONTRACT = (
    "check_id",
    "title",
    "severity",
    "status",
    "resource_type",
    "resource_id",
    "resource_arn",
    "region",
    "reason",
)


def bucket_finding(
    bucket: str = "aiw-public-share", severity: Severity = Severity.CRITICAL, check_id: str = "s3_check"
) -> Finding:
    return Finding(
        check_id=check_id,
        title="S3 buckets block public access",
        severity=severity,
        status=Status.FAIL,
        ref=ResourceRef(BUCKET, bucket, REGION, ACCOUNT),
        reason=f"bucket {bucket}: bucket policy allows Principal * in PublicReadGetObject",
        remediation_advice="Turn on Block Public Access.",
    )


def test_finding_subject_names_severity_check_resource_and_actor():
    subject = alerts.finding_alert(bucket_finding(), TRIGGER, ACCOUNT).subject
    assert subject.startswith("[CRITICAL]")
    assert "s3_check" in subject
    assert "aiw-public-share" in subject
    assert "jdoe" in subject
    assert "assumed-role" not in subject
    assert len(subject) <= 100
    assert subject.isascii()


def test_finding_subject_without_actor_still_names_the_resource():
    subject = alerts.finding_alert(bucket_finding(), TriggerInfo(kind="scan"), ACCOUNT).subject
    assert subject == "[CRITICAL] s3_check FAIL: aiw-public-share"


def test_long_resource_id_is_truncated_to_the_sns_limit():
    subject = alerts.finding_alert(bucket_finding("b" * 300), TRIGGER, ACCOUNT).subject
    assert len(subject) <= 100
    assert subject.startswith("[CRITICAL] s3_check")


def test_subject_is_ascii_on_one_line():
    trigger = TriggerInfo(kind="cloudtrail", actor="arn:aws:sts::1:assumed-role/R/jürgen\nx")
    subject = alerts.finding_alert(bucket_finding(), trigger, ACCOUNT).subject
    assert subject.isascii()
    assert "\n" not in subject


def test_finding_body_carries_the_contract_and_context():
    finding = bucket_finding()
    body = alerts.finding_alert(finding, TRIGGER, ACCOUNT).body
    for key in CONTRACT:
        assert body[key] == finding.to_dict()[key], key
    assert body["resource_arn"] == "arn:aws:s3:::aiw-public-share"
    assert body["status"] == "FAIL"
    assert body["account"] == ACCOUNT
    assert "aiw-public-share" in body["console_url"]
    assert body["console_url"].startswith("https://")
    assert body["remediation_advice"] == "Turn on Block Public Access."
    assert body["trigger"]["source"] == "aws.s3"
    assert body["trigger"]["event_name"] == "PutBucketPolicy"
    assert body["trigger"]["actor"] == ACTOR


def test_finding_message_is_the_body_as_json():
    alert = alerts.finding_alert(bucket_finding(), TRIGGER, ACCOUNT)
    assert json.loads(alert.message) == alert.body


def test_finding_attributes_let_subscribers_filter():
    attributes = alerts.finding_alert(bucket_finding(severity=Severity.LOW), TRIGGER, ACCOUNT).attributes
    assert attributes["severity"] == "LOW"
    assert attributes["check_id"] == "s3_check"
    assert attributes["resource_type"] == "AWS::S3::Bucket"
    assert attributes["status"] == "FAIL"
    assert all(isinstance(value, str) and value for value in attributes.values())


def guardduty(sample: bool = False):
    event = load_event("guardduty/s3_bucket_anonymous_access_granted.json")
    event["detail"]["service"]["additionalInfo"]["sample"] = sample
    invocation = normalise(event)
    return alerts.guardduty_alert(invocation.guardduty, invocation.trigger)


def test_guardduty_alert_maps_severity_and_names_the_bucket():
    alert = guardduty()
    assert alert.subject.startswith("[HIGH] GuardDuty Policy:S3/BucketAnonymousAccessGranted")
    assert "aiw-public-share" in alert.subject
    assert alert.attributes["severity"] == "HIGH"
    assert alert.attributes["check_id"] == "guardduty_finding"
    assert alert.body["guardduty_severity"] == 8.0
    assert alert.body["finding_id"] == "d42741e1fcf2bb80ce8dfa3388f385ec"
    assert alert.body["account"] == ACCOUNT
    assert alert.body["resource_names"] == ["aiw-public-share"]
    assert alert.body["sample"] is False


def test_guardduty_sample_finding_subject_is_prefixed():
    alert = guardduty(sample=True)
    assert alert.subject.startswith("[SAMPLE] [HIGH] GuardDuty")
    assert alert.body["sample"] is True


def test_guardduty_alert_without_resource_names_uses_the_resource_type():
    event = load_event("guardduty/ec2_instance_finding.json")
    del event["detail"]["resource"]["instanceDetails"]["instanceId"]
    invocation = normalise(event)
    subject = alerts.guardduty_alert(invocation.guardduty, invocation.trigger).subject
    assert subject.endswith(": Instance")


def sns_to_sqs(aws):
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name="aiwarden-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue


def drain(sqs, queue: str) -> list[dict]:
    received: list[dict] = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        received.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return [json.loads(m["Body"]) for m in received]


def test_publish_delivers_every_alert_intact_in_batches_of_ten(aws):
    topic, queue = sns_to_sqs(aws)
    sns = aws.client("sns")
    batches = []
    sns.meta.events.register("before-call.sns.PublishBatch", lambda **kw: batches.append(kw["params"]))
    severities = list(Severity)
    sent = [
        alerts.finding_alert(
            bucket_finding(f"aiw-bucket-{i:02d}", severities[i % len(severities)]), TRIGGER, ACCOUNT
        )
        for i in range(12)
    ]

    assert alerts.publish(sns, topic, sent) == 12

    assert len(batches) == 2
    delivered = {m["Subject"]: m for m in drain(aws.client("sqs"), queue)}
    assert set(delivered) == {a.subject for a in sent}
    for alert in sent:
        message = delivered[alert.subject]
        assert json.loads(message["Message"]) == alert.body
        attributes = {k: v["Value"] for k, v in message["MessageAttributes"].items()}
        assert attributes == alert.attributes


def test_publish_nothing_makes_no_call(aws):
    sns = aws.client("sns")
    calls = []
    sns.meta.events.register("before-call.sns.PublishBatch", lambda **kw: calls.append(kw))
    assert alerts.publish(sns, "arn:aws:sns:us-east-1:123456789012:unused", []) == 0
    assert calls == []


class RefusingSns:
    def publish_batch(self, TopicArn, PublishBatchRequestEntries):
        return {
            "Successful": [],
            "Failed": [{"Id": "0", "Code": "InternalError", "SenderFault": False}],
        }


def test_publish_raises_when_sns_refuses_an_alert():
    alert = alerts.finding_alert(bucket_finding(), TRIGGER, ACCOUNT)
    with pytest.raises(RuntimeError, match="InternalError"):
        alerts.publish(RefusingSns(), "arn:aws:sns:us-east-1:123456789012:t", [alert])
