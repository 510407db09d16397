"""moto's AWS Config items for S3 buckets, completed to the shape AWS's BatchGetResourceConfig sends.

moto 5 serves a bucket's configuration item without ``ServerSideEncryptionConfiguration`` and
``BucketVersioningConfiguration``, and sends ``BucketLoggingConfiguration`` and ``BucketPolicy`` as
objects, where AWS sends every supplementary configuration value as a JSON string. AI Warden reads
a missing aspect live (never as "not configured"), so on plain moto the recorded reads save only
part of what they save on AWS. Tests and the benchmark that measure those reads patch moto with
``aws_shaped_bucket_items()`` so its items carry what AWS's carry, built from moto's own bucket
state (so they are always current, unlike AWS's: tests that need a stale item patch it further).

The shapes follow AWS Config's resource schema for AWS::S3::Bucket (awslabs/aws-config-resource-
schema, ``supplementaryConfiguration.ServerSideEncryptionConfiguration.rules.
applyServerSideEncryptionByDefault.sseAlgorithm`` and so on) and the item AWS's documentation shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _encryption(bucket: Any) -> str | None:
    rule = (bucket.encryption or {}).get("Rule")
    if not isinstance(rule, dict):
        return None  # moto keeps no default encryption; AWS would report SSE-S3 (AES256)
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    return json.dumps(
        {
            "rules": [
                {
                    "applyServerSideEncryptionByDefault": {
                        "sseAlgorithm": default.get("SSEAlgorithm"),
                        "kmsMasterKeyID": default.get("KMSMasterKeyID"),
                    },
                    "bucketKeyEnabled": str(rule.get("BucketKeyEnabled", "false")).lower() == "true",
                }
            ]
        }
    )


def aws_shaped(item: dict[str, Any], bucket: Any) -> dict[str, Any]:
    """``item`` (moto's) with the aspects moto leaves out, every value a JSON string as AWS sends."""
    supplementary = item.setdefault("supplementaryConfiguration", {})
    encryption = _encryption(bucket)
    if encryption is not None:
        supplementary["ServerSideEncryptionConfiguration"] = encryption
    supplementary["BucketVersioningConfiguration"] = json.dumps(
        {"status": bucket.versioning_status or "Off", "isMfaDeleteEnabled": None}
    )
    for name, value in list(supplementary.items()):
        if not isinstance(value, str):
            supplementary[name] = json.dumps(value)
    item["recordingFrequency"] = "CONTINUOUS"
    return item


@contextmanager
def aws_shaped_bucket_items() -> Iterator[None]:
    """Patch moto (in this process) so BatchGetResourceConfig answers buckets as AWS does."""
    from moto.s3.models import FakeBucket

    original = FakeBucket.to_config_dict

    def to_config_dict(self: Any) -> dict[str, Any]:
        return aws_shaped(original(self), self)

    FakeBucket.to_config_dict = to_config_dict  # type: ignore[method-assign]
    try:
        yield
    finally:
        FakeBucket.to_config_dict = original  # type: ignore[method-assign]
