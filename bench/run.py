"""Benchmarks that print figures (not timed tests): handler cold-start import time, AWS API
calls per evaluation and per resource in a full sweep, sweep throughput, package sizes.

Run with `make bench`. Everything runs against moto in-process; no network.
"""

from __future__ import annotations

import compileall
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
)
os.environ.pop("AWS_ENDPOINT_URL", None)


def cold_start_import(runs: int = 7) -> tuple[float, float]:
    """Median seconds to import the handler module in a fresh interpreter, bytecode compiled (as
    Lambda has it) and not."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "layers/aiwarden/aiwarden", root / "aiwarden")
        shutil.copy(REPO / "functions/evaluate/app.py", root / "app.py")
        code = "import time; t=time.perf_counter(); import app; print(time.perf_counter()-t)"
        for compiled in (False, True):
            if compiled:
                compileall.compile_dir(root, quiet=1)
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env.update(PYTHONPATH=str(root), ALERT_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:t")
            if not compiled:
                env["PYTHONDONTWRITEBYTECODE"] = "1"
            times = [
                float(
                    subprocess.run(
                        [sys.executable, "-c", code],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                        cwd=root,
                    ).stdout
                )
                for _ in range(runs)
            ]
            results.append(statistics.median(times))
    return results[0], results[1]


def seed_many(aws: Any, per_type: int) -> int:
    s3, sm, iam = aws.client("s3"), aws.client("sagemaker"), aws.client("iam")
    role = "arn:aws:iam::123456789012:role/SageMakerExecution"
    for i in range(per_type):
        s3.create_bucket(Bucket=f"bench-bucket-{i:05d}")
        sm.create_model(
            ModelName=f"bench-model-{i:05d}",
            ExecutionRoleArn=role,
            PrimaryContainer={"Image": "img", "ModelDataUrl": f"s3://bench-bucket-{i:05d}/m.tar.gz"},
        )
        sm.create_endpoint_config(
            EndpointConfigName=f"bench-config-{i:05d}",
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "ModelName": f"bench-model-{i:05d}",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        sm.create_notebook_instance(
            NotebookInstanceName=f"bench-nb-{i:05d}", InstanceType="ml.t3.medium", RoleArn=role
        )
        iam.create_user(UserName=f"bench-user-{i:05d}")
    return per_type * 5


def sweep_costs(per_type: int) -> dict[str, Any]:
    from moto import mock_aws

    from aiwarden import clients as clients_module
    from aiwarden import engine
    from aiwarden.clients import Clients, reset_client_cache

    with mock_aws():
        reset_client_cache()
        calls: Counter[str] = Counter()
        clients_module._session(None).events.register(
            "before-call",
            lambda model, **_: calls.update([f"{model.service_model.service_name}:{model.name}"]),
        )
        aws = Clients("us-east-1", account_id="123456789012")
        resources = seed_many(aws, per_type)
        calls.clear()
        started = time.perf_counter()
        findings = engine.scan(aws)
        elapsed = time.perf_counter() - started
        reset_client_cache()
    return {
        "resources": resources,
        "evaluations": len(findings),
        "api_calls": sum(calls.values()),
        "per_resource": sum(calls.values()) / resources,
        "seconds": elapsed,
        "top": calls.most_common(4),
    }


def event_costs() -> list[tuple[str, int]]:
    import json

    from moto import mock_aws

    from aiwarden import clients as clients_module
    from aiwarden import engine
    from aiwarden.clients import Clients, reset_client_cache
    from aiwarden_dev.estate import seed

    rows = []
    logging.getLogger("aiwarden").setLevel(logging.ERROR)
    with mock_aws():
        reset_client_cache()
        calls: Counter[str] = Counter()
        clients_module._session(None).events.register("before-call", lambda **_: calls.update(["call"]))
        seed(Clients("us-east-1", account_id="123456789012").client, "123456789012", "us-east-1")
        for path in sorted((REPO / "events").glob("*/*.json")):
            calls.clear()
            event = json.loads(path.read_text())
            engine.process(event, lambda inv: Clients("us-east-1", account_id=inv.account))
            rows.append((path.relative_to(REPO / "events").as_posix(), calls["call"]))
        reset_client_cache()
    return rows


def package_sizes() -> list[tuple[str, float]]:
    build = REPO / ".aws-sam" / "build"
    out = []
    for name in ("AiWardenLayer", "EvaluateFunction"):
        folder = build / name
        if folder.is_dir():
            out.append((name, sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6))
    return out


def main() -> None:
    print(f"AI Warden benchmarks: python {sys.version.split()[0]}, {os.cpu_count()} cores")
    plain, compiled = cold_start_import()
    print(
        f"\nhandler import (fresh process): {plain * 1000:.0f} ms from source, "
        f"{compiled * 1000:.0f} ms compiled"
    )
    print("\nAPI calls per event evaluation (demo estate, moto):")
    for name, count in event_costs():
        print(f"  {count:3d}  {name}")
    print("\nfull sweep, all checks (moto in-process; real AWS latency not included):")
    for per_type in (20, 200):
        r = sweep_costs(per_type)
        print(
            f"  {r['resources']:5d} resources: {r['api_calls']:6d} API calls = "
            f"{r['per_resource']:.2f}/resource, "
            f"{r['evaluations']} evaluations in {r['seconds']:.1f} s "
            f"({r['resources'] / r['seconds']:.0f} resources/s); most: {r['top']}"
        )
    sizes = package_sizes()
    if sizes:
        print("\npackage sizes after `sam build` (unzipped):")
        for name, mb in sizes:
            print(f"  {name}: {mb:.2f} MB")
    else:
        print("\n(run `make build` to measure package sizes)")


if __name__ == "__main__":
    main()
