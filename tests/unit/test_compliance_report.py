"""`aiwarden report`: status per practice and per control, failures with reason and fix."""

from __future__ import annotations

from aiwarden import compliance
from aiwarden.engine import scan
from aiwarden.registry import select

PLAIN = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
KMS = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}


def findings(aws):
    s3 = aws.client("s3")
    for name, encryption in (("plain-bucket", PLAIN), ("kms-bucket", KMS)):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=encryption)
    return scan(aws, select(["s3_bucket_default_encryption_kms"]))


def test_report_rolls_up_practices_and_controls(aws):
    report = compliance.build(findings(aws), "123456789012", "us-east-1", framework="hipaa")
    encryption = next(r for r in report.practices if r.name == "Encryption at rest and in transit")
    assert (encryption.status, encryption.failing, encryption.passing) == ("FAIL", 1, 1)
    control = next(r for r in report.controls if r.name == "164.312(a)(2)(iv)")
    assert control.status == "FAIL"
    assert "s3_bucket_default_encryption_kms" in control.checks
    assert [f.ref.resource_id for f in report.failures] == ["plain-bucket"]


def test_markdown_and_html_show_each_failure_with_its_fix(aws):
    report = compliance.build(findings(aws), "123456789012", "us-east-1", framework="nist")
    markdown = compliance.render_markdown(report)
    assert "## By control" in markdown and "SC-28" in markdown
    assert "plain-bucket" in markdown and "put-bucket-encryption" in markdown
    page = compliance.render_html(report)
    assert page.startswith("<!doctype html>") and "plain-bucket" in page
    assert "kms-bucket" not in page.split("Failing resources")[1]


def test_html_escapes_resource_data(aws):
    report = compliance.build(findings(aws), "<script>", "us-east-1")
    assert "<script>" not in compliance.render_html(report)
