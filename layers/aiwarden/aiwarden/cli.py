"""The ``aiwarden`` command: a read-only scan, one-event evaluation, the catalog, the demo.

stdout carries only the result (a JSON array with ``--format json``); every message goes to
stderr. Exit status: 0 no FAIL, 1 at least one FAIL, 2 usage error, bad input, AWS unreachable
or credentials missing, or results incomplete because a check could not be evaluated (ERROR).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    """Something the user can fix; the message says how."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line that says what to do, not argparse's usage dump.
        self.exit(EXIT_ERROR, f"aiwarden: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aiwarden", description="Continuous compliance for AI workloads on AWS.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--endpoint-url", help="AWS API endpoint (e.g. a moto server)")
        p.add_argument("--region", help="AWS region (default: profile/environment, then us-east-1)")
        p.add_argument("--profile", help="named AWS profile from your shared config")
        p.add_argument("--checks", help="comma-separated check ids (default: all)")
        p.add_argument("--format", choices=["table", "json"], default="table")

    def remediation_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--remediate",
            choices=["dry-run", "enforce"],
            help="apply the Lambda's remediation decisions (allow-list: AIWARDEN_REMEDIATE_CHECKS)",
        )

    scan = sub.add_parser("scan", help="read-only scan of an account (unless --remediate)")
    common(scan)
    remediation_option(scan)

    report = sub.add_parser("report", help="scan, then write a compliance report (Markdown or HTML)")
    common(report)
    report.add_argument(
        "--framework",
        choices=["fsbp", "cis", "nist", "hipaa", "gdpr"],
        help="add a per-control section for this framework",
    )
    report.add_argument("--output", default="-", help="report.md or report.html ('-': Markdown on stdout)")

    evaluate = sub.add_parser("evaluate", help="evaluate one EventBridge event as the Lambda does")
    evaluate.add_argument("event", help="path to the event JSON ('-' for stdin)")
    common(evaluate)
    remediation_option(evaluate)

    checks = sub.add_parser("checks", help="list the check catalog")
    checks.add_argument("--format", choices=["table", "json"], default="table")

    demo = sub.add_parser("demo", help="run the demo on an embedded moto server")
    demo.add_argument(
        "--format",
        choices=["table", "json"],
        default="table",
        help="json prints the demo's findings and alerts as one JSON object",
    )

    docs = sub.add_parser("docs", help="write the check catalog (docs/checks.md)")
    docs.add_argument("--output", default="docs/checks.md", help="where to write it ('-' for stdout)")
    docs.add_argument("--readme", help="also update the catalog summary block in this README")

    patterns = sub.add_parser("patterns", help="print (or --write) the template's event patterns")
    patterns.add_argument("--write", metavar="TEMPLATE", help="rewrite the generated block in TEMPLATE")
    from aiwarden.redrive import add_arguments as redrive_arguments

    redrive_arguments(
        sub.add_parser("redrive", help="re-deliver the dead-letter queue's events to their functions")
    )
    return parser


def _selected_checks(spec: str | None) -> Any:
    from aiwarden.registry import select

    ids = [s.strip() for s in spec.split(",") if s.strip()] if spec else None
    try:
        return select(ids)
    except KeyError as exc:
        raise UsageError(f"unknown check id(s): {exc.args[0]}; run 'aiwarden checks' for the list") from exc


def _region(args: argparse.Namespace, fallback: str | None = None) -> str:
    if args.region:
        return str(args.region)
    env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if env:
        return env
    if fallback:
        return fallback
    import boto3

    try:
        return boto3.Session(profile_name=args.profile).region_name or "us-east-1"
    except Exception:
        return "us-east-1"


def _connect(args: argparse.Namespace, region: str, account: str | None = None) -> Any:
    """Clients for the target account, after proving the endpoint and credentials work."""
    from aiwarden.clients import Clients

    clients = Clients(region=region, endpoint_url=args.endpoint_url, profile=args.profile, account_id=account)
    identity = clients.client("sts").get_caller_identity()
    if account is None:
        clients._account_id = identity["Account"]
    logging.getLogger("aiwarden").info("connected as %s in %s", identity.get("Arn"), region)
    return clients


def _print_findings(findings: list[Any], fmt: str) -> None:
    from aiwarden.model import Status

    shown = [f for f in findings if f.status is not Status.NOT_APPLICABLE]
    if fmt == "json":
        json.dump([f.to_dict() for f in shown], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    from aiwarden.report import findings_table

    sys.stdout.write(findings_table(shown) + "\n")


def _exit_code(findings: list[Any]) -> int:
    from aiwarden.model import Status

    statuses = {f.status for f in findings}
    if Status.ERROR in statuses:
        return EXIT_ERROR
    return EXIT_FAIL if Status.FAIL in statuses else EXIT_OK


def cmd_scan(args: argparse.Namespace) -> int:
    from aiwarden import engine

    checks = _selected_checks(args.checks)
    clients = _connect(args, _region(args))
    findings = engine.scan(clients, checks)
    if args.remediate:
        from aiwarden.model import SCAN_TRIGGER

        findings = engine.remediate(findings, engine.remediator(_policy(args), clients), SCAN_TRIGGER)
        _print_remediations(findings)
    _print_findings(findings, args.format)
    return _exit_code(findings)


def _policy(args: argparse.Namespace) -> Any:
    from aiwarden.remediation import Policy

    try:
        return Policy.from_env(args.remediate)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _print_remediations(findings: list[Any]) -> None:
    for f in findings:
        if f.remediation is not None:
            r = f.remediation
            print(
                f"aiwarden: {r.mode} {f.check_id} {f.ref.resource_id}: {r.outcome}: {r.detail}",
                file=sys.stderr,
            )


def cmd_report(args: argparse.Namespace) -> int:
    from aiwarden import compliance, engine

    checks = _selected_checks(args.checks)
    clients = _connect(args, _region(args))
    findings = engine.scan(clients, checks)
    report = compliance.build(findings, clients.account_id, clients.region, args.framework)
    if args.output == "-":
        sys.stdout.write(compliance.render_markdown(report))
    else:
        target = Path(args.output)
        html = target.suffix.lower() in {".html", ".htm"}
        text = compliance.render_html(report) if html else compliance.render_markdown(report)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"aiwarden: wrote {target} ({len(report.failures)} failing)", file=sys.stderr)
    return _exit_code(findings)


def _read_event(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc


def cmd_evaluate(args: argparse.Namespace) -> int:
    from aiwarden import engine
    from aiwarden.events import UnsupportedEvent

    checks = _selected_checks(args.checks)
    event = _read_event(args.event)
    policy = _policy(args) if args.remediate else None
    result = engine.process(
        event,
        lambda inv: _connect(args, _region(args, inv.region), inv.account),
        checks,
        (lambda _inv, clients: engine.remediator(policy, clients)) if policy else None,
    )
    if policy:
        _print_remediations(result.findings)
    if result.skipped is not None:
        if isinstance(result.skipped, UnsupportedEvent):
            raise UsageError(f"{args.event}: {result.skipped.reason}")
        print(f"aiwarden: nothing to evaluate: {result.skipped.reason}", file=sys.stderr)
    if result.invocation is not None and result.invocation.guardduty is not None:
        gd = result.invocation.guardduty
        print(
            f"aiwarden: GuardDuty {gd.severity.value} {gd.finding_type} (the Lambda forwards it as an alert)",
            file=sys.stderr,
        )
    if result.invocation is not None and result.invocation.config_rule is not None:
        for evaluation in engine.config_evaluations(result):
            print(
                f"aiwarden: Config rule {result.invocation.config_rule.rule_name} would report "
                f"{evaluation['ComplianceResourceType']} {evaluation['ComplianceResourceId']} "
                f"{evaluation['ComplianceType']}: {evaluation['Annotation']}",
                file=sys.stderr,
            )
    _print_findings(result.findings, args.format)
    return _exit_code(result.findings)


def cmd_checks(args: argparse.Namespace) -> int:
    from aiwarden.registry import all_checks

    checks = all_checks()
    if args.format == "json":
        rows = [
            {
                "check_id": c.id,
                "title": c.title,
                "severity": c.severity.value,
                "resource_type": c.resource.cfn_type,
                "triggers": sorted({n for t in c.triggers for n in t.event_names}),
                "controls": {k: list(v) for k, v in c.controls.items()},
                "remediation_advice": c.remediation,
            }
            for c in checks
        ]
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from aiwarden.report import table

        rows = [[c.id, c.severity.value, c.resource.cfn_type, c.title] for c in checks]
        sys.stdout.write(table(["CHECK", "SEVERITY", "RESOURCE TYPE", "TITLE"], rows) + "\n")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        from aiwarden_dev.demo import run
    except ImportError as exc:
        raise UsageError(f"the demo needs the dev tools ({exc.name} missing): run 'make demo'") from exc

    return run(output_format=args.format)


def cmd_docs(args: argparse.Namespace) -> int:
    from aiwarden.catalog import render_markdown

    text = render_markdown()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"aiwarden: wrote {args.output}", file=sys.stderr)
    if args.readme:
        from aiwarden.catalog import update_readme

        readme = Path(args.readme)
        readme.write_text(update_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"aiwarden: updated the catalog summary in {readme}", file=sys.stderr)
    return EXIT_OK


def cmd_patterns(args: argparse.Namespace) -> int:
    from aiwarden import patterns

    if args.write:
        changed = patterns.write_template(Path(args.write))
        print(f"aiwarden: {args.write} {'updated' if changed else 'already current'}", file=sys.stderr)
    else:
        sys.stdout.write(patterns.render_block() + patterns.render_rules_block())
    return EXIT_OK


def cmd_redrive(args: argparse.Namespace) -> int:
    from aiwarden.redrive import cmd_redrive as run

    return run(args)


COMMANDS = {
    "scan": cmd_scan,
    "report": cmd_report,
    "evaluate": cmd_evaluate,
    "checks": cmd_checks,
    "demo": cmd_demo,
    "docs": cmd_docs,
    "patterns": cmd_patterns,
    "redrive": cmd_redrive,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="aiwarden: %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"aiwarden: {exc}", file=sys.stderr)
    except (NoCredentialsError, PartialCredentialsError):
        print(
            "aiwarden: no AWS credentials found: set AWS_PROFILE or run 'aws configure' "
            "(or 'aws sso login'), or pass --endpoint-url for a local endpoint",
            file=sys.stderr,
        )
    except ProfileNotFound as exc:
        print(f"aiwarden: {exc}; list profiles with 'aws configure list-profiles'", file=sys.stderr)
    except NoRegionError:
        print("aiwarden: no AWS region: pass --region or set AWS_REGION", file=sys.stderr)
    except EndpointConnectionError as exc:
        print(
            f"aiwarden: cannot reach AWS at {exc.kwargs.get('endpoint_url')}: check the "
            "network or --endpoint-url",
            file=sys.stderr,
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(
            f"aiwarden: AWS refused {exc.operation_name}: {error.get('Code')}: "
            f"{error.get('Message')}; check the credentials' permissions",
            file=sys.stderr,
        )
    except BotoCoreError as exc:
        print(f"aiwarden: AWS call failed: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("aiwarden: interrupted", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
