"""Benchmarks that print figures (not timed tests).

1. API cost: AWS API calls per event evaluation (each sample in events/) and per resource in a full
   scan, at several estate sizes, counted with botocore's ``before-call`` hook, broken down by
   operation, with wall time and peak memory. Each size runs in a fresh process on in-process moto
   (``mock_aws``) so memory figures do not leak between sizes.
2. The Lambda sweep (up to 1,000 resources unless --sizes asks), with a state table: plan, then work
   items (``sweep.BATCH`` resources) each evaluated with fresh Clients, first on an empty table, then
   with the verdicts stored (AWS Config's recorded bucket settings trusted where they are no news), the same
   with ``AIWARDEN_CONFIG_READS=off``, and a day later (reminders due); estate reads, DynamoDB reads
   and writes apart, verdicts compared.
3. Handler cold start: importing functions/<f>/app.py in a fresh interpreter (python3.13 when pyenv
   has it) laid out as Lambda has it (function, layer, runtime boto3), with the layer's bytecode
   compiled and without (as ``sam build`` ships it), plus where the import time goes.
4. Event-to-alert latency on the embedded default (a moto server): CloudTrail record -> PutEvents ->
   the template's rules -> evaluate handler -> SNS -> subscriber queue.
5. Package sizes after ``sam build``.

Run with ``make bench`` (everything, about 7 minutes on 2 cores) or e.g.
``python bench/run.py --quick`` / ``--sizes 100,1000 --only api``. No network beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
ACCOUNT = "123456789012"  # moto's default account, the one the sample events name
REGION = "us-east-1"
DEFAULT_SIZES = (100, 1000, 5000)
QUICK_SIZES = (100, 1000)
# The sweep section evaluates every size four times, recording each verdict on moto's DynamoDB: at
# 5,000 it takes about 15 minutes on 2 cores (1,000: 2), so by default it stops at 1,000; ask for
# more with --sizes. Its calls per resource hardly move between 1,000 and 5,000.
SWEEP_DEFAULT_MAX = 1000
SECTIONS = ("api", "sweep", "cold", "latency", "sizes")
# The goal for a full scan with every check on, and the best peer's figure today.
GOAL_CALLS_PER_RESOURCE = 2.0
PEER_CALLS_PER_RESOURCE = 3.5
# A realistic AI estate: per 20 resources, 5 buckets, 4 models (artifacts in those buckets), 3
# endpoint configurations (serving those models), 2 notebooks, 2 IAM users, 2 IAM roles, 1 KMS key
# and 1 ECR repository.
MIX = (
    ("bucket", 5),
    ("model", 4),
    ("endpoint_config", 3),
    ("notebook", 2),
    ("user", 2),
    ("role", 2),
    ("kms_key", 1),
    ("ecr_repository", 1),
)
TAG_OPERATIONS = re.compile(r"Tag")
# Calls AI Warden makes on moto that AWS's answers make unnecessary, counted apart:
# - GetBucketLocation: AWS's ListBuckets returns each BucketRegion when asked with a page size
#   (MaxBuckets); moto 5.2.5 leaves it out, so the lister asks each bucket.
# - GetResources pages after the first: AWS answers an ARN list (at most 100) in one response and
#   rejects pagination parameters with it; moto pages it at 50 resources or 100 tags.
# - GetUser in a scan: the bulk read describes a user from ListUsers and GetAccountAuthorizationDetails
#   when the latter carries the user's Tags, which AWS sends even when empty ("Tags": [], the AWS
#   response quoted in getmoto/moto#5803); moto 5.2.5 leaves an untagged user's Tags out, so
#   AI Warden asks GetUser rather than guess the exemption tag. (Events read one user: GetUser is
#   real there.)
MOTO_ONLY = {"S3:GetBucketLocation"}
MOTO_ONLY_IN_SCANS = {"IAM:GetUser"}
TAGGING_READ = "Resource Groups Tagging API:GetResources"
MOTO_ONLY_PREFIX = "moto-only "
BENCH_TABLE = "aiwarden-bench-state"
# Keys and roles first (buckets, models and notebooks use them), then buckets before the models
# stored in them, and models before the endpoint configurations serving them.
SEED_ORDER = ("kms_key", "role", "bucket", "model", "endpoint_config", "notebook", "user", "ecr_repository")
SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def fake_credentials() -> None:
    """Dummy credentials and region for in-process moto: never sign with real ones."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )


def progress(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``fraction`` of values at or below."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * fraction)) - 1]


def rss_mb() -> float:
    """Current resident set size (Linux /proc), MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # Linux reports KiB


# --- counting API calls ---------------------------------------------------------------------------


class CallCounter:
    """A botocore ``before-call`` handler: one count per API call a client makes (a paginated listing
    counts each page; retries inside one call do not count). Thread safe, since the engine
    evaluates on a thread pool."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def __call__(self, model: Any, params: Any = None, **_: Any) -> None:
        key = f"{model.service_model.service_id}:{model.name}"
        if key in MOTO_ONLY or (key == TAGGING_READ and b"PaginationToken" in _body(params)):
            key = MOTO_ONLY_PREFIX + key
        with self._lock:
            self._counts[key] += 1

    def take(self) -> Counter[str]:
        """The counts since the last take, and start again from zero."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts


def _body(params: Any) -> bytes:
    body = params.get("body", b"") if isinstance(params, dict) else b""
    return body if isinstance(body, bytes) else str(body).encode()


def aws_calls(calls: dict[str, int]) -> int:
    """The calls AWS itself would need: without those only moto's answers cause (MOTO_ONLY)."""
    return sum(n for op, n in calls.items() if not op.startswith(MOTO_ONLY_PREFIX))


def moto_only_in_scan(calls: Counter[str]) -> Counter[str]:
    """A scan's counts with MOTO_ONLY_IN_SCANS moved to the moto-only side."""
    out: Counter[str] = Counter()
    for op, n in calls.items():
        out[MOTO_ONLY_PREFIX + op if op in MOTO_ONLY_IN_SCANS else op] += n
    return out


def count_calls() -> CallCounter:
    """Hook a counter into the client factory's session. Every client built afterwards inherits the
    session's handlers, so call this right after reset_client_cache(), before any client exists."""
    from aiwarden import clients as clients_module

    counter = CallCounter()
    clients_module._session(None).events.register("before-call", counter)
    return counter


# --- seeding a large estate -----------------------------------------------------------------------


def mix_counts(total: int) -> dict[str, int]:
    weight = sum(w for _, w in MIX)
    counts = {kind: total * w // weight for kind, w in MIX}
    for kind, _ in MIX[: total - sum(counts.values())]:
        counts[kind] += 1
    return counts


class BulkEstate:
    """``total`` AI resources in the MIX proportions, configured with realistic variety (some
    compliant, some drifted) so every check exercises its real call path."""

    def __init__(self, aws: Callable[[str], Any], total: int, fallback_key: str) -> None:
        self.aws = aws
        self.counts = mix_counts(total)
        self.keys: list[str] = [fallback_key]
        self.roles: list[str] = []
        self.buckets: list[str] = []
        self.models: list[str] = []
        self._shared_policy: str | None = None

    def seed(self) -> dict[str, int]:
        for kind in SEED_ORDER:
            for i in range(self.counts[kind]):
                getattr(self, kind)(i)
        return self.counts

    def kms_key(self, i: int) -> None:
        kms = self.aws("kms")
        tags = [{"TagKey": "team", "TagValue": f"ml-{i % 7}"}] if i % 2 else []
        arn = kms.create_key(Description=f"bench key {i}", Tags=tags)["KeyMetadata"]["Arn"]
        if i % 2 == 0:
            kms.enable_key_rotation(KeyId=arn)
        self.keys.append(arn)

    def role(self, i: int) -> None:
        iam = self.aws("iam")
        name = f"bench-sagemaker-{i:05d}"
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST))["Role"][
            "Arn"
        ]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": f"arn:aws:s3:::bench-data-{i:05d}/*",
                }
            ],
        }
        iam.put_role_policy(RoleName=name, PolicyName="data", PolicyDocument=json.dumps(policy))
        if i % 4 == 0:
            iam.attach_role_policy(RoleName=name, PolicyArn=self.shared_policy())
        self.roles.append(arn)

    def shared_policy(self) -> str:
        """One customer-managed policy a quarter of the roles share (moto loads no AWS-managed ones)."""
        if self._shared_policy is None:
            document = {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["sagemaker:Describe*", "sagemaker:List*"], "Resource": "*"}
                ],
            }
            self._shared_policy = self.aws("iam").create_policy(
                PolicyName="bench-sagemaker-read", PolicyDocument=json.dumps(document)
            )["Policy"]["Arn"]
        return self._shared_policy

    def bucket(self, i: int) -> None:
        s3 = self.aws("s3")
        name = f"bench-data-{i:05d}"
        s3.create_bucket(Bucket=name)
        default: dict[str, Any] = (
            {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": self.keys[i % len(self.keys)]}
            if i % 3
            else {"SSEAlgorithm": "AES256"}
        )
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
        )
        if i % 2 == 0:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        else:
            deny_http = {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
            s3.put_bucket_policy(
                Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny_http]})
            )
        if i % 4 != 3:
            flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=dict.fromkeys(flags, True))
        if i % 3 == 0:
            label = "confidential" if i % 2 else "internal"
            s3.put_bucket_tagging(
                Bucket=name, Tagging={"TagSet": [{"Key": "DataClassification", "Value": label}]}
            )
        self.buckets.append(name)

    def model(self, i: int) -> None:
        name = f"bench-model-{i:05d}"
        bucket = self.buckets[i % len(self.buckets)] if self.buckets else "aiw-models-kms"
        extra: dict[str, Any] = {}
        if i % 2 == 0:
            extra["VpcConfig"] = {"SecurityGroupIds": ["sg-0a1b2c3d"], "Subnets": ["subnet-0a1b2c3d"]}
        self.aws("sagemaker").create_model(
            ModelName=name,
            PrimaryContainer={
                "Image": f"763104351884.dkr.ecr.{REGION}.amazonaws.com/pytorch-inference:2.3.0-cpu-py311",
                "ModelDataUrl": f"s3://{bucket}/{name}/model.tar.gz",
            },
            ExecutionRoleArn=self.roles[i % len(self.roles)] if self.roles else self.fallback_role(),
            **extra,
        )
        self.models.append(name)

    def fallback_role(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution"

    def endpoint_config(self, i: int) -> None:
        model = self.models[i % len(self.models)] if self.models else "fraud-v3"
        extra: dict[str, Any] = {}
        if i % 2 == 0:
            extra["KmsKeyId"] = self.keys[i % len(self.keys)]
        if i % 4 == 0 and self.buckets:
            extra["DataCaptureConfig"] = {
                "InitialSamplingPercentage": 10,
                "DestinationS3Uri": f"s3://{self.buckets[i % len(self.buckets)]}/capture",
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            }
        self.aws("sagemaker").create_endpoint_config(
            EndpointConfigName=f"bench-config-{i:05d}",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1 + i % 2,
                }
            ],
            **extra,
        )

    def notebook(self, i: int) -> None:
        extra: dict[str, Any] = {"KmsKeyId": self.keys[i % len(self.keys)]} if i % 2 == 0 else {}
        if i % 2 == 0:
            extra.update(
                SubnetId="subnet-0a1b2c3d", SecurityGroupIds=["sg-0a1b2c3d"], DirectInternetAccess="Disabled"
            )
        self.aws("sagemaker").create_notebook_instance(
            NotebookInstanceName=f"bench-nb-{i:05d}",
            InstanceType="ml.t3.medium",
            RoleArn=self.roles[i % len(self.roles)] if self.roles else self.fallback_role(),
            RootAccess="Disabled" if i % 3 else "Enabled",
            **extra,
        )

    def user(self, i: int) -> None:
        iam = self.aws("iam")
        name = f"bench-user-{i:05d}"
        iam.create_user(UserName=name)
        if i % 3 == 0:
            iam.create_login_profile(UserName=name, Password="Correct-Horse-Battery-9")
        elif i % 3 == 1:
            iam.create_access_key(UserName=name)

    def ecr_repository(self, i: int) -> None:
        extra: dict[str, Any] = {}
        if i % 2 == 0:
            extra["encryptionConfiguration"] = {
                "encryptionType": "KMS",
                "kmsKey": self.keys[i % len(self.keys)],
            }
        self.aws("ecr").create_repository(
            repositoryName=f"bench/inference-{i:05d}",
            imageTagMutability="IMMUTABLE" if i % 2 else "MUTABLE",
            imageScanningConfiguration={"scanOnPush": i % 3 != 0},
            **extra,
        )


# --- API cost at scale ----------------------------------------------------------------------------


def enabled_checks() -> list[Any]:
    """Every registered check except those moto cannot answer truthfully (as the demo runs them)."""
    from aiwarden.registry import select
    from aiwarden_dev.estate import MOTO_BLIND_CHECKS

    return [c for c in select(None) if c.id not in MOTO_BLIND_CHECKS]


def event_cost(path: Path, checks: list[Any], counter: CallCounter, state: Any = None) -> dict[str, Any]:
    """Calls one sample event costs to evaluate (normalise, describe, check; publishing not included).
    With ``state`` (a StateStore), as on Lambda: the bucket -> AI usage index answers bucket events."""
    from aiwarden import engine
    from aiwarden.clients import Clients

    event = json.loads(path.read_text())
    counter.take()
    started = time.perf_counter()
    result = engine.process(event, lambda inv: Clients(REGION, account_id=inv.account, state=state), checks)
    elapsed = time.perf_counter() - started
    calls = counter.take()
    return {
        "event": path.relative_to(EVENTS).as_posix(),
        "calls": sum(calls.values()),
        "aws_calls": aws_calls(calls),
        "ms": elapsed * 1000,
        "evaluations": len(result.findings),
        "top": calls.most_common(3),
    }


def resources_evaluated(findings: list[Any]) -> set[tuple[str, str]]:
    """Distinct real resources a scan reported on (the account-wide checks' account is not one)."""
    return {
        (f.ref.type.cfn_type, f.ref.resource_id)
        for f in findings
        if f.ref.resource_id != "*" and f.ref.type.cfn_type != "AWS::::Account"
    }


def service_key(name: str) -> str:
    """The service of an operation or a resource type ("S3 Control", "AWS::S3::Bucket" -> "s3"), so
    calls and resources line up."""
    return (name.split("::")[1] if "::" in name else name.split()[0]).lower()


def scale_run(size: int) -> dict[str, Any]:
    """Seed the demo estate (which the sample events name) plus ``size`` AI resources on in-process
    moto, then count the calls of every sample event and of a full scan. Meant to run in a process
    of its own (``--worker scale``), so its peak memory is its own."""
    from moto import mock_aws

    from aiwarden import engine
    from aiwarden.clients import Clients, reset_client_cache
    from aiwarden.resources import bucket_usage
    from aiwarden.resources.s3 import PUBLIC_ACCESS_FIELDS
    from aiwarden.store import StateStore, create_table
    from aiwarden_dev.estate import seed

    fake_credentials()
    logging.getLogger("aiwarden").setLevel(logging.CRITICAL)  # keep warnings out of the figures
    checks = enabled_checks()
    with mock_aws():
        reset_client_cache()
        counter = count_calls()
        aws = Clients(REGION, account_id=ACCOUNT)
        started = time.perf_counter()
        estate = seed(aws.client, ACCOUNT, REGION)
        seeded = BulkEstate(aws.client, size, estate.kms_key_arn).seed()
        seed_seconds = time.perf_counter() - started
        progress(f"{size} resources: seeded in {seed_seconds:.0f} s; evaluating the sample events")
        counter.take()
        events = [event_cost(path, checks, counter) for path in sorted(EVENTS.glob("*/*.json"))]
        # Again as on Lambda, with the state table's usage index built (as a sweep builds it).
        create_table(aws.client("dynamodb"), BENCH_TABLE)
        store = StateStore(aws.client("dynamodb"), BENCH_TABLE)
        bucket_usage.ai_buckets(Clients(REGION, account_id=ACCOUNT, state=store))
        indexed = [event_cost(path, checks, counter, store) for path in sorted(EVENTS.glob("*/*.json"))]
        progress(f"{size} resources: full scan with {len(checks)} checks")
        rss_before = rss_mb()
        started = time.perf_counter()
        findings = engine.scan(Clients(REGION, account_id=ACCOUNT), checks)
        scan_seconds = time.perf_counter() - started
        calls = moto_only_in_scan(counter.take())
        # The same estate once the account turns on Block Public Access (Security Hub S3.1, CIS
        # 2.1.4): the check then needs no bucket's own settings.
        aws.client("s3control").put_public_access_block(
            AccountId=ACCOUNT, PublicAccessBlockConfiguration=dict.fromkeys(PUBLIC_ACCESS_FIELDS, True)
        )
        counter.take()
        engine.scan(Clients(REGION, account_id=ACCOUNT), checks)
        calls_account_block = moto_only_in_scan(counter.take())
        reset_client_cache()
    evaluated = resources_evaluated(findings)
    return {
        "size": size,
        "seeded": seeded,
        "checks": len(checks),
        "seed_seconds": seed_seconds,
        "events": events,
        "events_indexed": indexed,
        "resources": len(evaluated),
        "by_service": dict(Counter(service_key(cfn_type) for cfn_type, _ in evaluated)),
        "evaluations": len(findings),
        "statuses": Counter(f.status.value for f in findings),
        "calls": dict(calls),
        "calls_account_block": dict(calls_account_block),
        "scan_seconds": scan_seconds,
        "rss_before_scan_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
    }


def in_worker(kind: str, *args: str) -> dict[str, Any]:
    """Run ``--worker kind`` in a fresh interpreter; its progress goes to our stderr."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", kind, *args],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def print_scale(results: list[dict[str, Any]]) -> None:
    print(
        f"\nFull scan, {results[0]['checks']} checks (all but aiwarden_dev.estate.MOTO_BLIND_CHECKS), "
        "in-process moto (mock_aws): no network latency, moto's own work included in time and memory"
    )
    print(
        f"  {'seeded':>7} {'evaluated':>9} {'API calls':>9} {'calls/res':>9} {'findings':>8} "
        f"{'scan s':>7} {'res/s':>6} {'peak RSS':>9} {'scan +RSS':>9}"
    )
    for r in results:
        calls = sum(r["calls"].values())
        print(
            f"  {r['size']:>7} {r['resources']:>9} {calls:>9} {calls / r['resources']:>9.2f} "
            f"{r['evaluations']:>8} {r['scan_seconds']:>7.1f} {r['resources'] / r['scan_seconds']:>6.0f} "
            f"{r['peak_rss_mb']:>7.0f}MB {r['peak_rss_mb'] - r['rss_before_scan_mb']:>7.0f}MB"
        )
    print(
        f"  {'seeded':>7} {'on AWS':>9} {'calls/res':>9}   {'+ account BPA':>13} {'calls/res':>9}"
        "   (AWS: without moto-only calls; + account BPA: the same estate, account-level Block Public"
        " Access on)"
    )
    for r in results:
        on_aws, blocked = aws_calls(r["calls"]), aws_calls(r["calls_account_block"])
        print(
            f"  {r['size']:>7} {on_aws:>9} {on_aws / r['resources']:>9.2f}   {blocked:>13} "
            f"{blocked / r['resources']:>9.2f}"
        )
    for r in results:
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(r["statuses"].items()))
        seeded = ", ".join(f"{n} {kind}" for kind, n in r["seeded"].items())
        print(f"  @{r['size']}: seeded {seeded} in {r['seed_seconds']:.0f} s; findings: {statuses}")
    print_services(results)
    print_operations(results)
    print_events(results)


def print_services(results: list[dict[str, Any]]) -> None:
    largest = max(results, key=lambda r: r["size"])
    calls: Counter[str] = Counter()
    for op, n in largest["calls"].items():
        calls[service_key(op.split(":")[0])] += n
    print(f"\n  @{largest['size']}, by service: calls / resources of that service = calls per resource")
    for service, n in calls.most_common():
        owned = largest["by_service"].get(service, 0)
        per = f"{n / owned:5.2f} per resource" if owned else "account-wide"
        share = n / largest["resources"]
        print(
            f"    {service:<12} {n:>6} / {owned:>5} = {per:<18} ({share:.2f} of the overall calls/resource)"
        )


def print_operations(results: list[dict[str, Any]]) -> None:
    largest = max(results, key=lambda r: r["size"])
    top = [op for op, _ in Counter(largest["calls"]).most_common(14)]
    header = " ".join(f"{'@' + str(r['size']):>8}" for r in results)
    print(f"\n  calls per evaluated resource, by operation (* = a tag read): {header}")
    for op in top:
        row = " ".join(f"{r['calls'].get(op, 0) / r['resources']:>8.3f}" for r in results)
        mark = "*" if TAG_OPERATIONS.search(op) else " "
        print(f"   {mark}{op:<55} {row}")
    for r in results:
        calls = Counter(r["calls"])
        total = sum(calls.values())
        tags = sum(n for op, n in calls.items() if TAG_OPERATIONS.search(op))
        top3 = sum(n for _, n in calls.most_common(3))
        print(
            f"  @{r['size']}: {total / r['resources']:.2f} calls/resource (goal {GOAL_CALLS_PER_RESOURCE}, "
            f"best peer {PEER_CALLS_PER_RESOURCE}); tag reads {tags / total:.0%} of calls; "
            f"top 3 operations {top3 / total:.0%}; without tag reads {(total - tags) / r['resources']:.2f}"
        )


def print_events(results: list[dict[str, Any]]) -> None:
    header = " ".join(f"{'@' + str(r['size']):>7}" for r in results)
    print(
        f"\nAPI calls per sample event evaluation (events/), at each estate size: {header}  (ms at largest)"
    )
    by_event = [r["events"] for r in results]
    for index, first in enumerate(by_event[0]):
        counts = " ".join(f"{events[index]['calls']:>7}" for events in by_event)
        print(f"  {first['event']:<56} {counts}  {by_event[-1][index]['ms']:>7.0f}")
    print(
        "\n  The same events as on Lambda, with the state table's bucket -> AI usage index built "
        f"(AWS calls: moto-only ones left out): {header}  (ms at largest)"
    )
    indexed = [r["events_indexed"] for r in results]
    for index, first in enumerate(indexed[0]):
        if all(events[index]["calls"] == by_event[n][index]["calls"] for n, events in enumerate(indexed)):
            continue  # the index does not concern this event
        counts = " ".join(f"{events[index]['aws_calls']:>7}" for events in indexed)
        print(f"  {first['event']:<56} {counts}  {indexed[-1][index]['ms']:>7.0f}")
    grows = [
        e["event"]
        for e, big in zip(by_event[0], by_event[-1], strict=True)
        if big["calls"] > 2 * e["calls"] + 5
    ]
    if grows:
        worst = max(by_event[-1], key=lambda e: e["calls"])
        print(
            f"  {len(grows)} event(s) cost more as the estate grows; worst: {worst['event']} "
            f"{worst['calls']} calls, mostly {', '.join(f'{op} x{n}' for op, n in worst['top'])}"
        )


# --- the Lambda sweep, with the state table and AWS Config's recorded configuration ----------------

# (key, label, AIWARDEN_CONFIG_READS, hours the state table's clock runs ahead): the passes of the sweep
# section, in the order they run. "day" is a later sweep once the repeat window has passed: the
# template's defaults (a daily SweepSchedule, RepeatAlertHours 24) put each sweep at the window's
# edge, 25 hours puts it past. The stored failures' reminders are then due (a reminder is not news to
# the engine: a failure that goes on keeps resting on the record), and the usage index is a day old.
SWEEP_PASSES = (
    ("first", "pass 1: first sweep, empty table", None, 0),
    ("steady", "pass 2: within the repeat window", None, 0),
    ("live", "pass 2, AIWARDEN_CONFIG_READS=off", "off", 0),
    ("day", "pass 2 a day later (reminders due)", None, 25),
)
DYNAMODB = "DynamoDB:"
DYNAMODB_READS = {"DynamoDB:Query", "DynamoDB:GetItem", "DynamoDB:BatchGetItem", "DynamoDB:Scan"}


class ConfirmedLive(logging.Filter):
    """Sums what the engine logs when verdicts built on a recorded configuration were news
    (``engine._confirm_recorded``: judged again live), and lets no record through."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        self.counts["confirmed_live"] += int(getattr(record, "confirmed_live", 0))
        return False

    def take(self) -> dict[str, int]:
        counts, self.counts = self.counts, Counter()
        return {"confirmed_live": counts["confirmed_live"]}


@contextlib.contextmanager
def environment(name: str, value: str | None) -> Iterator[None]:
    """``name`` set to ``value`` (None: unset) for the block, as it was afterwards."""
    before = os.environ.pop(name, None)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)
        if before is not None:
            os.environ[name] = before


def split_calls(calls: dict[str, int]) -> dict[str, int]:
    """Estate reads on AWS (no DynamoDB, no moto-only calls), DynamoDB reads and writes, moto-only."""
    out = dict.fromkeys(("estate", "ddb_reads", "ddb_writes", "moto_only"), 0)
    for op, n in calls.items():
        if op.startswith(MOTO_ONLY_PREFIX):
            out["moto_only"] += n
        elif op in DYNAMODB_READS:
            out["ddb_reads"] += n
        elif op.startswith(DYNAMODB):
            out["ddb_writes"] += n
        else:
            out["estate"] += n
    return out


def verdicts(findings: list[Any]) -> list[tuple[str, str, str, str]]:
    """(check id, resource type, resource, status) of each finding: what verdict equality compares."""
    return sorted((f.check_id, f.ref.type.cfn_type, f.ref.resource_id, f.status.value) for f in findings)


def sweep_pass(
    items: list[dict[str, Any]], checks: list[Any], counter: CallCounter, log: ConfirmedLive, ahead: float
) -> tuple[dict[str, Any], list[Any]]:
    """Every work item as a sweep worker runs it: fresh Clients with the state table (its clock
    ``ahead`` hours in the future), evaluate, then record the verdicts. Returns (figures, findings)."""
    from datetime import UTC, datetime, timedelta

    from aiwarden import engine, sweep
    from aiwarden.clients import Clients
    from aiwarden.store import StateStore

    def clock() -> datetime:
        return datetime.now(UTC) + timedelta(hours=ahead)

    evaluation: Counter[str] = Counter()
    recording: Counter[str] = Counter()
    by_type: dict[str, dict[str, Any]] = {}
    findings: list[Any] = []
    kept = 0  # verdicts that rest on AWS Config's recorded configuration (not judged again live)
    counter.take()
    log.take()
    started = time.perf_counter()
    for item in items:
        clients = Clients(REGION, account_id=ACCOUNT)  # as Runtime.clients builds them per invocation
        clients.state = StateStore(clients.client("dynamodb"), BENCH_TABLE, clock=clock)
        invocation = sweep.invocation_for(item)
        item_started = time.perf_counter()
        result = engine.run(invocation, clients, checks)
        calls = moto_only_in_scan(counter.take())
        kept += sum(1 for f in result.findings if clients.judged_from_record(f.check_id, f.ref))
        evaluation.update(calls)
        kind = by_type.setdefault(
            item["resource_type"], {"items": 0, "resources": 0, "seconds": 0.0, "calls": Counter()}
        )
        kind["items"] += 1
        kind["seconds"] += time.perf_counter() - item_started
        kind["resources"] += len(item["resources"] or ())
        kind["calls"].update(calls)
        clients.state.record_many(result.findings)
        recording.update(counter.take())
        findings.extend(result.findings)
    figures = {
        "calls": dict(evaluation),
        "record_calls": dict(recording),
        "seconds": time.perf_counter() - started,
        "by_item_type": {kind: {**v, "calls": dict(v["calls"])} for kind, v in by_type.items()},
        "kept": kept,
        "findings": len(findings),
        "statuses": Counter(f.status.value for f in findings),
        **log.take(),
    }
    return figures, findings


def sweep_run(size: int) -> dict[str, Any]:
    """Seed the scan section's estate, then sweep it as Lambda does, with a state table on moto:
    plan, then each work item with fresh Clients, once per SWEEP_PASSES. moto is patched so
    AWS Config's bucket items carry what AWS's carry. Meant to run in a process of its own."""
    from moto import mock_aws

    from aiwarden import engine, sweep
    from aiwarden.clients import Clients, reset_client_cache
    from aiwarden.resources import recorded
    from aiwarden.store import create_table
    from aiwarden_dev.estate import seed
    from aiwarden_dev.moto_config import aws_shaped_bucket_items

    fake_credentials()
    logging.getLogger("aiwarden").setLevel(logging.CRITICAL)  # keep warnings out of the figures
    log = ConfirmedLive()
    engine_log = logging.getLogger("aiwarden.engine")
    engine_log.setLevel(logging.INFO)
    engine_log.addFilter(log)
    checks = enabled_checks()
    passes: dict[str, Any] = {}
    found: dict[str, list[Any]] = {}
    with mock_aws(), aws_shaped_bucket_items():
        reset_client_cache()
        counter = count_calls()
        aws = Clients(REGION, account_id=ACCOUNT)
        started = time.perf_counter()
        estate = seed(aws.client, ACCOUNT, REGION)
        seeded = BulkEstate(aws.client, size, estate.kms_key_arn).seed()
        create_table(aws.client("dynamodb"), BENCH_TABLE)
        seed_seconds = time.perf_counter() - started
        progress(f"sweep @{size}: seeded in {seed_seconds:.0f} s; the CLI scan for reference")
        counter.take()
        started = time.perf_counter()
        scanned = engine.scan(Clients(REGION, account_id=ACCOUNT), checks)
        scan_seconds = time.perf_counter() - started
        scan_calls = moto_only_in_scan(counter.take())
        started = time.perf_counter()
        planned = sweep.plan(Clients(REGION, account_id=ACCOUNT), checks)  # as handle_schedule: no table
        plan_seconds = time.perf_counter() - started
        plan_calls = moto_only_in_scan(counter.take())
        for key, label, reads, ahead in SWEEP_PASSES:
            progress(f"sweep @{size}: {label}, {len(planned.items)} work items")
            with environment(recorded.ENV, reads):
                passes[key], found[key] = sweep_pass(planned.items, checks, counter, log, ahead)
        reset_client_cache()
    engine_log.removeFilter(log)
    same = {key: verdicts(found[key]) == verdicts(found["live"]) for key in found}
    same["scan"] = verdicts(scanned) == verdicts(found["live"])
    for key in ("steady", "day"):
        if not same[key]:
            on, live = set(verdicts(found[key])), set(verdicts(found["live"]))
            for line in sorted(on ^ live)[:20]:
                print(f"  {'reads on ' if line in on else 'reads off'}: {line}", file=sys.stderr)
            raise SystemExit(f"sweep @{size}: the {key} pass's verdicts differ from those with reads off")
    evaluated = resources_evaluated(found["live"])
    return {
        "size": size,
        "seeded": seeded,
        "checks": len(checks),
        "seed_seconds": seed_seconds,
        "resources": len(evaluated),
        "by_service": dict(Counter(service_key(cfn_type) for cfn_type, _ in evaluated)),
        "items": len(planned.items),
        "listed": planned.resources,
        "listing_errors": planned.listing_errors,
        "plan_calls": dict(plan_calls),
        "plan_seconds": plan_seconds,
        "scan_calls": dict(scan_calls),
        "scan_seconds": scan_seconds,
        "passes": passes,
        "same_verdicts": same,
        "peak_rss_mb": peak_rss_mb(),
    }


def per(n: float, resources: int) -> str:
    return f"{n / resources:.3f}" if resources else "-"


SWEEP_NOTES = (
    "aiwarden.sweep.plan lists every checked type into work items of up to 100 resources of one type; each",
    "item is evaluated as a sweep worker does (engine.run with fresh Clients sharing the state table), its",
    "verdicts recorded after. In-process moto, the scan section's estate, AWS Config's recorder recording",
    "continuously; moto patched with aiwarden_dev.moto_config.aws_shaped_bucket_items() so its bucket",
    "configuration items carry encryption and versioning and send JSON strings, as AWS's do (plain moto's",
    "would leave those aspects to live reads). Per resource evaluated; a sweep is its plan plus its items.",
    "estate: reads of the estate on AWS (moto-only calls left out, as in the scan); ddb rd: the table's",
    "Query/GetItem/BatchGetItem (usage and lineage indexes, stored verdicts); reads = estate + ddb rd.",
    "writes: UpdateItem recording verdicts plus index writes: bookkeeping, counted in no reads figure.",
    "kept: verdicts that read AWS Config's recorded configuration and stand on it (no news to the table);",
    "re-judged: verdicts that read it and were news (new failure, any change of status), judged again live.",
)


def sweep_row(label: str, calls: dict[str, int], writes: int | None, res: int, tail: str) -> str:
    c = split_calls(calls)
    reads = c["estate"] + c["ddb_reads"]
    ddb = f"{c['ddb_reads']:>6} {per(c['ddb_reads'], res):>6}" if writes is not None else " " * 13
    wrote = f"{writes:>6} {per(writes, res):>6}" if writes is not None else " " * 13
    return (
        f"  {label:<34} {c['estate']:>7} {per(c['estate'], res):>6} {ddb} {reads:>7} {per(reads, res):>6}  "
        f"{wrote} {c['moto_only']:>9} {tail}"
    )


def print_sweep(results: list[dict[str, Any]], seconds: float) -> None:
    print(f"\nLambda sweep with the state table, {results[0]['checks']} checks (as the scan section's)")
    for line in SWEEP_NOTES:
        print(f"  {line}")
    print(
        f"  {'seeded':>6} {'evaluated':>9} {'items':>5}  {'':<34} {'estate':>7} {'/res':>6} {'ddb rd':>6} "
        f"{'/res':>6} {'reads':>7} {'/res':>6}  {'writes':>6} {'/res':>6} {'moto-only':>9} "
        f"{'kept':>6} {'re-judged':>9} {'s':>6}"
    )
    for r in results:
        res = r["resources"]
        lead = f"  {r['size']:>6} {res:>9} {r['items']:>5}"
        blank = " " * len(lead)
        tail = f"{'':>6} {'':>9} {r['scan_seconds']:>6.1f}"
        print(lead + sweep_row("CLI scan, no table (reference)", r["scan_calls"], None, res, tail))
        tail = f"{'':>6} {'':>9} {r['plan_seconds']:>6.1f}"
        print(blank + sweep_row("plan (listing only)", r["plan_calls"], None, res, tail))
        for key, label, _, _ in SWEEP_PASSES:
            p = r["passes"][key]
            calls = Counter(r["plan_calls"]) + Counter(p["calls"])
            writes = split_calls(calls)["ddb_writes"] + split_calls(p["record_calls"])["ddb_writes"]
            tail = f"{p['kept']:>6} {p['confirmed_live']:>9} {p['seconds']:>6.1f}"
            print(blank + sweep_row(label, calls, writes, res, tail))
    for r in results:
        same = r["same_verdicts"]
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(r["passes"]["live"]["statuses"].items()))
        equal = ", ".join(
            f"{label.split(':')[0]} {'yes' if same[key] else 'NO'}"
            for key, label, _, _ in (*SWEEP_PASSES, ("scan", "CLI scan", None, 0))
            if key != "live"
        )
        print(
            f"  @{r['size']}: verdicts (check, resource, status) equal to those with reads off: {equal} "
            f"({statuses}); listed {r['listed']}, listing errors {len(r['listing_errors'])}; "
            f"peak RSS {r['peak_rss_mb']:.0f} MB"
        )
    print_sweep_services(results)
    print_sweep_item_types(results)
    print_sweep_operations(results)
    print(f"\n  sweep section wall time: {seconds:.0f} s (seeding and the reference scan included)")


def sweep_columns(r: dict[str, Any]) -> list[tuple[str, Counter[str]]]:
    """(heading, calls) per column of the breakdowns: the plan, then each pass's items (writes too)."""
    columns = [("plan", Counter(r["plan_calls"]))]
    for key, _, _, _ in SWEEP_PASSES:
        p = r["passes"][key]
        columns.append((key, Counter(p["calls"]) + Counter(p["record_calls"])))
    return columns


def print_sweep_services(results: list[dict[str, Any]]) -> None:
    largest = max(results, key=lambda r: r["size"])
    columns = sweep_columns(largest)
    by_service = []
    for _, calls in columns:
        services: Counter[str] = Counter()
        for op, n in calls.items():
            if not op.startswith(MOTO_ONLY_PREFIX) and not op.startswith(DYNAMODB):
                services[service_key(op.split(":")[0])] += n
        by_service.append(services)
    heading = " ".join(f"{name:>17}" for name, _ in columns)
    print(
        f"\n  @{largest['size']}, estate reads on AWS by service: calls (per resource of that service); "
        "plan, then each pass's items without the plan"
    )
    print(f"    {'service':<12} {'resources':>9} {heading}")
    for service in sorted({s for c in by_service for s in c}, key=lambda s: -by_service[2][s]):
        owned = largest["by_service"].get(service, 0)
        cells = " ".join(
            f"{c[service]:>7} ({c[service] / owned:>6.2f})" if owned else f"{c[service]:>7} {'(acct)':>8}"
            for c in by_service
        )
        print(f"    {service:<12} {owned:>9} {cells}")


def print_sweep_item_types(results: list[dict[str, Any]]) -> None:
    largest = max(results, key=lambda r: r["size"])
    passes = largest["passes"]
    heading = " ".join(f"{key:>14}" for key, _, _, _ in SWEEP_PASSES)
    print(
        f"\n  @{largest['size']}, by work item type: estate reads on AWS (per resource listed in those "
        "items); within the repeat window, the state table's reads and the seconds evaluating (not recording)"
    )
    print(f"    {'work item type':<34} {'items':>5} {'listed':>6} {heading} {'ddb rd':>6} {'eval s':>6}")
    kinds = passes["live"]["by_item_type"]
    for kind in sorted(kinds, key=lambda k: -split_calls(kinds[k]["calls"])["estate"]):
        listed = kinds[kind]["resources"]
        cells = []
        for key, _, _, _ in SWEEP_PASSES:
            estate = split_calls(passes[key]["by_item_type"].get(kind, {}).get("calls", {}))["estate"]
            cells.append(f"{estate:>6} ({estate / listed:>5.2f})" if listed else f"{estate:>6} {'':>7}")
        ddb = split_calls(passes["steady"]["by_item_type"].get(kind, {}).get("calls", {}))["ddb_reads"]
        seconds = passes["steady"]["by_item_type"].get(kind, {}).get("seconds", 0.0)
        print(
            f"    {kind:<34} {kinds[kind]['items']:>5} {listed:>6} {' '.join(cells)} {ddb:>6} {seconds:>6.1f}"
        )


def print_sweep_operations(results: list[dict[str, Any]]) -> None:
    largest = max(results, key=lambda r: r["size"])
    columns = sweep_columns(largest)
    res, buckets = largest["resources"], largest["by_service"].get("s3", 0)
    every: Counter[str] = Counter()
    for _, calls in columns:
        every.update(calls)
    heading = " ".join(f"{name:>14}" for name, _ in columns)
    print(
        f"\n  @{largest['size']}, by operation: calls (per evaluated resource; S3 per bucket, of "
        f"{buckets}); * = moto-only, ddb = state table"
    )
    print(f"    {'operation':<52} {heading}")
    for op, _ in every.most_common():
        s3 = op.removeprefix(MOTO_ONLY_PREFIX).startswith("S3:")
        base = buckets if s3 else res
        mark = "*" if op.startswith(MOTO_ONLY_PREFIX) else "d" if op.startswith(DYNAMODB) else " "
        cells = " ".join(f"{calls.get(op, 0):>7} ({calls.get(op, 0) / base:>4.2f})" for _, calls in columns)
        name = op.removeprefix(MOTO_ONLY_PREFIX) + (" /bucket" if s3 else "")
        print(f"   {mark}{name:<52} {cells}")
    if len(results) > 1:
        print("\n  S3 calls per bucket of each pass's items (ListBuckets left out), at each size:")
        for r in results:
            n = r["by_service"].get("s3", 0)
            cells = []
            for name, calls in sweep_columns(r)[1:]:
                s3 = sum(v for op, v in calls.items() if op.startswith("S3:") and op != "S3:ListBuckets")
                cells.append(f"{name} {s3 / n:.2f}" if n else f"{name} -")
            print(f"    @{r['size']}: {n} buckets; " + ", ".join(cells))


# --- handler cold start ---------------------------------------------------------------------------

# Wall time, and CPU time (which other work on a busy machine barely disturbs).
IMPORT_PROBE = (
    "import time; t, c = time.perf_counter(), time.process_time(); import app; "
    "print(time.perf_counter() - t, time.process_time() - c)"
)
# What the template sets (or Lambda provides) that the handlers read at import time.
HANDLER_ENV = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "ALERT_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:aiwarden-alerts",
    "SLACK_WEBHOOK_SECRET_ARN": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:aiwarden-slack",
    "POWERTOOLS_SERVICE_NAME": "aiwarden",
    "AIWARDEN_REMEDIATION_MODE": "dry-run",
    "PYTHONDONTWRITEBYTECODE": "1",  # /opt and /var/task are read-only on Lambda
}
# The Lambda runtime's own boto3 and what it needs (pure Python), precompiled as the runtime has it.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
# What layers/aiwarden/requirements.txt adds, when there is no `sam build` output to take the layer from.
LAYER_PACKAGES = ("aws_lambda_powertools", "jmespath", "typing_extensions.py")
IMPORT_GROUPS = (
    "aiwarden",
    "app",
    "aws_lambda_powertools",
    "typing_extensions",
    "jmespath",
    "boto3",
    "botocore",
    "s3transfer",
    "urllib3",
    "dateutil",
)


def lambda_python() -> str:
    """Lambda's python3.13 when pyenv has it (as the Makefile finds it for sam), else this one."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(root.glob("versions/3.13*/bin/python3.13"))
    return str(found[-1]) if found else sys.executable


def handler_names() -> list[str]:
    return sorted(path.parent.name for path in (REPO / "functions").glob("*/app.py"))


def copy_entries(names: tuple[str, ...], source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif not (target / name).exists():
            shutil.copy(source / name, target / name)


def compile_tree(python: str, folder: Path) -> None:
    subprocess.run([python, "-S", "-m", "compileall", "-q", str(folder)], check=True, capture_output=True)


def lambda_layout(root: Path, python: str, build: Path | None) -> None:
    """root/runtime: boto3 & co., compiled. root/layer: the layer exactly as ``sam build`` made it (no
    .pyc: its python builder compiles nothing), or the same assembled from the repo and the venv.
    root/layer_compiled: that layer with bytecode written beforehand."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    copy_entries(RUNTIME_PACKAGES, purelib, root / "runtime")
    compile_tree(python, root / "runtime")
    built = build / "AiWardenLayer" / "python" if build else None
    if built and built.is_dir():
        shutil.copytree(built, root / "layer", ignore=shutil.ignore_patterns("__pycache__"))
    else:
        copy_entries(("aiwarden",), REPO / "layers" / "aiwarden", root / "layer")
        copy_entries(LAYER_PACKAGES, purelib, root / "layer")
    shutil.copytree(root / "layer", root / "layer_compiled")
    compile_tree(python, root / "layer_compiled")


def probe_env(root: Path, function: str, compiled: bool) -> dict[str, str]:
    # Lambda's order: /var/task, /opt/python, the runtime. -S (below) keeps site-packages out.
    task = REPO / "functions" / function
    layer = root / ("layer_compiled" if compiled else "layer")
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(str(p) for p in (task, layer, root / "runtime")),
        **HANDLER_ENV,
    }


def import_seconds(python: str, root: Path, function: str, compiled: bool) -> tuple[float, float]:
    """(wall, CPU) seconds to import the handler module in a fresh interpreter."""
    done = subprocess.run(
        [python, "-S", "-c", IMPORT_PROBE],
        env=probe_env(root, function, compiled),
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def import_breakdown(python: str, root: Path, function: str) -> dict[str, float]:
    """Milliseconds of import work by top-level package, as shipped (``-X importtime`` self times,
    which include compiling a module without bytecode): what a cold start spends its time on."""
    done = subprocess.run(
        [python, "-S", "-X", "importtime", "-c", "import app"],
        env=probe_env(root, function, compiled=False),
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    groups: Counter[str] = Counter()
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        top = parts[2].strip().split(".")[0]
        group = top if top in IMPORT_GROUPS else "stdlib" if top in sys.stdlib_module_names else "other"
        groups[group] += int(parts[0]) / 1000
    return dict(groups)


def cold_start(runs: int, python: str, build: Path | None) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lambda_layout(root, python, build)
        version = subprocess.run(
            [python, "-S", "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        from_build = (root / "layer" / "requirements.txt").exists()
        for function in handler_names():
            row: dict[str, Any] = {"function": function}
            for compiled in (True, False):
                times = [import_seconds(python, root, function, compiled) for _ in range(runs)]
                key = "compiled" if compiled else "shipped"
                row[key] = statistics.median(wall for wall, _ in times) * 1000
                row[f"{key}_cpu"] = statistics.median(cpu for _, cpu in times) * 1000
            breakdowns = [import_breakdown(python, root, function) for _ in range(3)]
            row["breakdown"] = {
                group: statistics.median(b.get(group, 0.0) for b in breakdowns)
                for group in {g for b in breakdowns for g in b}
            }
            progress(f"cold start: {function} done")
            rows.append(row)
    return {"python": version, "layer_from_build": from_build, "runs": runs, "rows": rows}


def print_cold_start(result: dict[str, Any]) -> None:
    origin = "the `sam build` output" if result["layer_from_build"] else "the repo + venv (no build found)"
    print(
        f"\nHandler cold start: `import app` in a fresh python {result['python']} -S, median of "
        f"{result['runs']}; Lambda's path order (function, layer from {origin}, runtime boto3 precompiled)"
    )
    print(
        f"  {'wall/CPU ms':<14} {'layer .pyc':>11} {'no .pyc':>11}   "
        "no .pyc (as shipped), by package (-X importtime self ms)"
    )
    for row in result["rows"]:
        parts = sorted(row["breakdown"].items(), key=lambda kv: -kv[1])
        where = ", ".join(f"{group} {ms:.0f}" for group, ms in parts if ms >= 1)
        compiled = f"{row['compiled']:.0f}/{row['compiled_cpu']:.0f}"
        shipped = f"{row['shipped']:.0f}/{row['shipped_cpu']:.0f}"
        print(f"  {row['function']:<14} {compiled:>11} {shipped:>11}   {where}")


# --- event-to-alert latency -----------------------------------------------------------------------

LATENCY_BUCKETS = ("aiw-models-kms", "aiw-datasets-plain", "aiw-public-share")
SSE_S3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def load_evaluate_handler(topic_arn: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """functions/evaluate/app.py imported as Lambda would, logging at ERROR only. Imported with stdout
    swallowed: Powertools' logger keeps the stream it saw at import, so nothing reaches ours."""
    from aiwarden.store import TABLE_ENV

    os.environ.pop(TABLE_ENV, None)  # no state table: one alert per FAIL, as on the embedded default
    os.environ.update(
        ALERT_TOPIC_ARN=topic_arn, POWERTOOLS_LOG_LEVEL="ERROR", AIWARDEN_REMEDIATION_MODE="dry-run"
    )
    path = REPO / "functions" / "evaluate" / "app.py"
    spec = importlib.util.spec_from_file_location("aiwarden_bench_evaluate_app", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):
        spec.loader.exec_module(module)
    return module.handler  # type: ignore[no-any-return]


def drift(i: int) -> tuple[str, dict[str, Any]]:
    """Alternately strip and downgrade (SSE-S3) default encryption: both FAIL the KMS check."""
    bucket = LATENCY_BUCKETS[(i // 2) % len(LATENCY_BUCKETS)]
    if i % 2 == 0:
        return "delete_bucket_encryption", {"Bucket": bucket}
    return "put_bucket_encryption", {"Bucket": bucket, "ServerSideEncryptionConfiguration": SSE_S3}


def first_alerts(sqs: Any, url: str, timeout: float = 5.0) -> tuple[float | None, int]:
    """When the first SNS message reached the subscriber queue, and how many arrived."""
    first, count, deadline = None, 0, time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages"
        )
        if not messages:
            if first is not None:
                break
            time.sleep(0.002)
            continue
        first = first if first is not None else time.perf_counter()
        count += len(messages)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )
    return first, count


def deliver_one(stack: Any, aws: Callable[[str], Any], handler: Any, trail: dict[str, Any]) -> dict[str, Any]:
    """PutEvents -> the template's rules (SQS stand-ins for the Lambda target) -> handler -> SNS ->
    subscriber queue, timed per phase from the moment the event goes in."""
    from aiwarden_dev import cloudtrail
    from aiwarden_dev.demo import drain, lambda_context

    sqs = aws("sqs")
    t0 = time.perf_counter()
    aws("events").put_events(Entries=[cloudtrail.envelope(trail)])
    t_put = time.perf_counter()
    routed = [body for url in stack.rule_queues.values() for body in drain(sqs, url)]
    t_routed = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # Powertools metrics (EMF) go to stdout
        for body in routed:
            handler(body, lambda_context())
    t_handled = time.perf_counter()
    first, alerts = first_alerts(sqs, stack.subscriber_url)
    return {
        "routed": len(routed),
        "alerts": alerts,
        "total_ms": None if first is None else (first - t0) * 1000,
        "put_ms": (t_put - t0) * 1000,
        "route_ms": (t_routed - t_put) * 1000,
        "handler_ms": (t_handled - t_routed) * 1000,
        "receive_ms": None if first is None else (first - t_handled) * 1000,
    }


def latency_run(count: int) -> dict[str, Any]:
    """The embedded default end to end: moto server, the template's rules, the demo estate, then
    ``count`` real drift calls turned into CloudTrail events. Meant for a process of its own."""
    from aiwarden.clients import client, reset_client_cache
    from aiwarden_dev import cloudtrail
    from aiwarden_dev.demo import deploy
    from aiwarden_dev.estate import seed
    from aiwarden_dev.moto_server import fake_aws_environment, moto_server

    logging.getLogger("aiwarden").setLevel(logging.ERROR)
    samples = []
    with moto_server() as endpoint, fake_aws_environment(endpoint):
        reset_client_cache()

        def aws(service: str) -> Any:
            return client(service, REGION, endpoint, None)

        stack = deploy(aws)
        seed(aws, ACCOUNT, REGION)
        handler = load_evaluate_handler(stack.topic_arn)
        identity = cloudtrail.identity("AssumedRole", ACCOUNT, "DataScientist/jdoe")
        for i in range(count):
            method, params = drift(i)
            trail, _ = cloudtrail.record(aws("s3"), method, params, identity, ACCOUNT, REGION)
            samples.append(deliver_one(stack, aws, handler, trail))
            if (i + 1) % 50 == 0:
                progress(f"latency: {i + 1}/{count} events")
        reset_client_cache()
    return {"endpoint": "moto server on 127.0.0.1", "rules": len(stack.rule_queues), "samples": samples}


def print_latency(result: dict[str, Any]) -> None:
    samples = result["samples"]
    done = [s for s in samples if s["total_ms"] is not None]
    print(
        f"\nEvent-to-alert latency, embedded default (moto server on 127.0.0.1, {result['rules']} rules "
        f"from template.yaml): {len(samples)} CloudTrail events (DeleteBucketEncryption / "
        f"PutBucketEncryption SSE-S3), PutEvents -> rule queue -> evaluate handler -> SNS -> subscriber"
    )
    print(
        f"  alerted: {len(done)}/{len(samples)} events, {sum(s['alerts'] for s in samples)} SNS messages; "
        f"routed to the handler: {sum(s['routed'] for s in samples)}"
    )
    if not done:
        return
    totals = [s["total_ms"] for s in done]
    print(
        f"  event in -> first SNS message received: p50 {percentile(totals, 0.5):.0f} ms, "
        f"p95 {percentile(totals, 0.95):.0f} ms, max {max(totals):.0f} ms "
        f"(first event, cold clients: {done[0]['total_ms']:.0f} ms)"
    )
    ours = [s["handler_ms"] + s["receive_ms"] for s in done]
    print(
        f"  of which handler -> SNS -> subscriber (AI Warden's part): p50 {percentile(ours, 0.5):.0f} ms, "
        f"p95 {percentile(ours, 0.95):.0f} ms, max {max(ours):.0f} ms"
    )
    phases = ("put_ms", "route_ms", "handler_ms", "receive_ms")
    print(
        "  p50 by phase: "
        + ", ".join(f"{p.removesuffix('_ms')} {statistics.median(s[p] for s in done):.1f} ms" for p in phases)
    )


# --- package sizes --------------------------------------------------------------------------------


def serverless_resources() -> list[tuple[str, str]]:
    """(logical id, Function | LayerVersion) for every SAM function and layer in template.yaml."""
    text = (REPO / "template.yaml").read_text()
    return re.findall(r"^  (\w+):\n    Type: AWS::Serverless::(Function|LayerVersion)\b", text, re.MULTILINE)


def folder_stats(folder: Path) -> dict[str, Any]:
    files = [f for f in folder.rglob("*") if f.is_file()]
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for f in files:
                archive.write(f, f.relative_to(folder).as_posix())
        zipped = handle.tell()
    base = folder / "python" if (folder / "python").is_dir() else folder
    largest: Counter[str] = Counter()
    for f in files:
        if base in f.parents:
            largest[f.relative_to(base).parts[0]] += f.stat().st_size
    return {
        "files": len(files),
        "unzipped_mb": sum(f.stat().st_size for f in files) / 1e6,
        "zipped_mb": zipped / 1e6,
        "pyc": sum(1 for f in files if f.suffix == ".pyc"),
        "largest": [(name, size / 1e6) for name, size in largest.most_common(4)],
    }


def print_sizes(build: Path) -> None:
    print(
        "\nPackage sizes after `sam build` (.aws-sam/build/<logical id>; Lambda limits: 250 MB unzipped "
        "for function + layers, 50 MB zipped upload)"
    )
    for logical_id, kind in serverless_resources():
        folder = build / logical_id
        if not folder.is_dir():
            print(f"  {logical_id} ({kind}): not built; run `make build`")
            continue
        s = folder_stats(folder)
        largest = ", ".join(f"{name} {size(mb)}" for name, mb in s["largest"])
        print(
            f"  {logical_id} ({kind}): {size(s['unzipped_mb'])} unzipped, {size(s['zipped_mb'])} zipped, "
            f"{s['files']} files ({s['pyc']} .pyc); largest: {largest}"
        )


def size(mb: float) -> str:
    return f"{mb:.2f} MB" if mb >= 0.1 else f"{mb * 1000:.1f} kB"


# --- entry point ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        help=f"AI resources to seed for the API-cost runs (default {','.join(map(str, DEFAULT_SIZES))})",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"sizes {','.join(map(str, QUICK_SIZES))}, 50 latency events"
    )
    parser.add_argument("--only", help=f"comma-separated sections to run: {','.join(SECTIONS)}")
    parser.add_argument("--runs", type=int, default=7, help="cold-start runs per handler (median)")
    parser.add_argument("--events", type=int, help="events for the latency run (default 200)")
    parser.add_argument(
        "--python", default=lambda_python(), help="interpreter for the cold-start runs (default: python3.13)"
    )
    parser.add_argument(
        "--build-dir", type=Path, help="`sam build` output to measure (default .aws-sam/build when present)"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--worker", choices=["scale", "sweep", "latency"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def worker(args: argparse.Namespace) -> None:
    if args.worker == "scale":
        result = scale_run(args.size)
    elif args.worker == "sweep":
        result = sweep_run(args.size)
    else:
        result = latency_run(args.events)
    print(json.dumps(result, default=str))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress interleaves
    if args.worker:
        worker(args)
        return
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    events = args.events or (50 if args.quick else 200)
    sections = set(args.only.split(",")) if args.only else set(SECTIONS)
    build = args.build_dir or REPO / ".aws-sam" / "build"
    figures: dict[str, Any] = {}
    print(
        f"AI Warden benchmarks: python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"{os.uname().machine}, {time.strftime('%Y-%m-%d')}",
        flush=True,
    )
    if "api" in sections:
        figures["scale"] = [in_worker("scale", "--size", str(size)) for size in sizes]
        print_scale(figures["scale"])
    if "sweep" in sections:
        started = time.perf_counter()
        sweep_sizes = args.sizes or tuple(size for size in sizes if size <= SWEEP_DEFAULT_MAX)
        figures["sweep"] = [in_worker("sweep", "--size", str(size)) for size in sweep_sizes]
        print_sweep(figures["sweep"], time.perf_counter() - started)
        if sweep_sizes != sizes:
            left_out = ", ".join(str(size) for size in sizes if size not in sweep_sizes)
            print(f"  sweep at {left_out} left out (about 15 min at 5,000): run it with --only sweep --sizes")
    if "cold" in sections:
        figures["cold_start"] = cold_start(args.runs, args.python, build)
        print_cold_start(figures["cold_start"])
    if "latency" in sections:
        figures["latency"] = in_worker("latency", "--events", str(events))
        print_latency(figures["latency"])
    if "sizes" in sections:
        print_sizes(build)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
