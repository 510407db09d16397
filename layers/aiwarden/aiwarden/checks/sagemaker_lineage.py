"""AI lineage: a SageMaker endpoint is only as sound as what it serves.

One check follows endpoint -> endpoint configuration -> models -> artifact buckets, ECR
repositories and execution roles (aiwarden.lineage) and fails when any of the account's own
upstream resources fails the check that already judges it. A change to such a resource (a bucket
losing encryption or becoming public, a role gaining admin, a repository policy opened to
everyone) re-evaluates the endpoints serving it, and the finding tells the chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiwarden import lineage

# The upstream checks must be registered before this module derives its triggers and permissions
# from them (the package imports modules alphabetically, so they already are; this makes it so).
from aiwarden.checks import ecr as _ecr_checks  # noqa: F401
from aiwarden.checks import iam as _iam_checks  # noqa: F401
from aiwarden.checks import s3 as _s3_checks  # noqa: F401
from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, Status, fail, ok
from aiwarden.registry import CloudTrailTrigger, check, cloudtrail
from aiwarden.resources import ResourceType
from aiwarden.resources.sagemaker import ENDPOINT

CHECK_ID = "sagemaker_endpoint_serving_chain_compliant"

lineage.install_finders(ENDPOINT)


class LineageError(RuntimeError):
    """Part of the serving chain could not be evaluated, and nothing known fails."""


def _lineage_triggers() -> list[CloudTrailTrigger]:
    """Whatever re-evaluates an upstream check re-evaluates the endpoints served through it: each
    upstream check's triggers, pointed at its resource type so the event normaliser makes lineage
    targets, which the endpoint type's upstream finders map to endpoints. An account-wide change
    (ids ALL_RESOURCES: account Block Public Access, registry scanning, Inspector) targets every
    bucket or repository, and so every endpoint that depends on one of them.

    Today that is: s3 CreateBucket, PutBucketEncryption, DeleteBucketEncryption,
    PutBucketPublicAccessBlock, DeleteBucketPublicAccessBlock, PutBucketPolicy, DeleteBucketPolicy,
    PutBucketAcl, PutBucketTagging, DeleteBucketTagging (the bucket named) and
    PutAccountPublicAccessBlock, DeleteAccountPublicAccessBlock (every bucket); iam CreateRole,
    UpdateAssumeRolePolicy, AttachRolePolicy, DetachRolePolicy, PutRolePolicy, DeleteRolePolicy,
    TagRole, UntagRole (the role) and CreatePolicyVersion, SetDefaultPolicyVersion (a customer
    managed policy, then the roles it is attached to); ecr CreateRepository, SetRepositoryPolicy,
    DeleteRepositoryPolicy, PutImageScanningConfiguration, TagResource, UntagResource (the
    repository) and PutRegistryScanningConfiguration, inspector2 Enable, Disable (every
    repository). Models and endpoint configurations are immutable: no call changes one in place
    (their AWS Config item changes reach the endpoints through the same finders)."""
    merged: dict[tuple[str, str, ResourceType], set[str]] = {}
    for upstream in lineage.upstream_checks():
        for trigger in upstream.triggers:
            key = (trigger.service, trigger.ids, trigger.resource or upstream.resource)
            merged.setdefault(key, set()).update(trigger.event_names)
    return [
        cloudtrail(service, *sorted(names), ids=ids, resource=resource)
        for (service, ids, resource), names in merged.items()
    ]


def _permissions() -> list[str]:
    """What resolving the chain calls, plus what the upstream checks and describing their
    resources call (the read policy is generated from these)."""
    needed = set(lineage.CHAIN_PERMISSIONS)
    for upstream in lineage.upstream_checks():
        needed.update(upstream.permissions)
        needed.update(upstream.resource.permissions)
    return sorted(needed)


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@check(
    id=CHECK_ID,
    title="SageMaker endpoints serve only models whose artifact buckets, images and roles pass their checks",
    severity=Severity.HIGH,
    resource=ENDPOINT,
    triggers=[
        cloudtrail("sagemaker", "CreateEndpoint", "UpdateEndpoint", ids="requestParameters.endpointName"),
        cloudtrail("sagemaker", "AddTags", "DeleteTags", ids="requestParameters.resourceArn"),
        *_lineage_triggers(),
    ],
    permissions=_permissions(),
    # Least privilege: the chain fails when someone other than the endpoint can read or replace
    # what it serves (a public artifact bucket or image repository, artifacts outside a KMS key
    # policy's control, unscanned images) or when what it serves runs with more than it needs
    # (an execution role with administrator access).
    practice=Practice.LEAST_PRIVILEGE,
    remediation=(
        "Fix the upstream resource the finding names, as its own check advises: encrypt the "
        "artifact bucket with SSE-KMS (aws s3api put-bucket-encryption --bucket BUCKET "
        "--server-side-encryption-configuration ...), block public access (aws s3api "
        "put-public-access-block --bucket BUCKET --public-access-block-configuration "
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true), "
        "detach administrator policies from the execution role (aws iam detach-role-policy "
        "--role-name ROLE --policy-arn ARN), remove Principal * from the repository policy (aws ecr "
        "set-repository-policy) and scan its images (aws ecr put-image-scanning-configuration "
        "--repository-name REPOSITORY --image-scanning-configuration scanOnPush=true). Or redeploy "
        "from compliant sources: create a new model and endpoint configuration, then aws sagemaker "
        "update-endpoint --endpoint-name ENDPOINT --endpoint-config-name NEW_CONFIG."
    ),
)
def endpoint_serving_chain_compliant(endpoint: Resource, clients: Clients) -> Outcome:
    """FAIL when any upstream resource of the account fails its check; the reason tells the chain
    ("endpoint E serves model M whose artifacts are in bucket B, which fails CHECK (REASON)").

    An upstream resource tagged aiwarden:exempt=true does not fail it (the reason says what the
    exemption hides). A known failure is reported even when another link could not be evaluated:
    a FAIL is certain either way, while an ERROR would leave AWS Config on its last result. With
    no failure, a link that could not be evaluated (its check errored, or the endpoint
    configuration, a model or a model package no longer exists) raises, so this endpoint alone
    gets ERROR. Resources outside the account (JumpStart buckets, AWS Deep Learning Container
    images) are named as not checked."""
    links = lineage.serving_chain(clients, endpoint)
    verdict = _Verdict()
    for link in links:
        verdict.add(link)
    notes = ""
    if verdict.exempt:
        notes += ". Exempt, not counted: " + "; ".join(verdict.exempt)
    if verdict.unchecked:
        notes += ". Not checked: " + "; ".join(dict.fromkeys(verdict.unchecked))
    if verdict.failing:
        if verdict.unevaluated:
            notes += ". Not evaluated: " + "; ".join(verdict.unevaluated)
        return fail("; ".join(verdict.failing) + notes)
    if verdict.unevaluated:
        raise LineageError("; ".join(verdict.unevaluated))
    return ok(_summary(endpoint, links, verdict.passed) + notes)


@dataclass
class _Verdict:
    """The chain's links sorted by what their upstream checks found, as reason fragments."""

    failing: list[str] = field(default_factory=list)
    exempt: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    unevaluated: list[str] = field(default_factory=list)
    passed: int = 0

    def add(self, link: lineage.Link) -> None:
        if link.broken:
            self.unevaluated.append(f"{link.path}, {link.note}")
            return
        if link.ref is None:
            self.unchecked.append(f"{link.path} ({link.note})")
            return
        failed = [f for f in link.findings if f.status is Status.FAIL]
        if failed:
            self.failing.append(
                f"{link.path}, which fails " + " and ".join(f"{f.check_id} ({f.reason})" for f in failed)
            )
        label = f"{link.ref.type.label} {link.ref.resource_id}"
        for f in link.findings:
            if f.status is Status.PASS:
                self.passed += 1
            elif f.status is Status.EXEMPT and f.underlying is not Status.PASS:
                self.exempt.append(f"{label} is exempt from {f.check_id}, {f.reason}")
            elif f.status is Status.ERROR:
                self.unevaluated.append(f"{link.path}, where {f.check_id} {f.reason}")
            elif f.status is Status.NOT_APPLICABLE:
                self.unchecked.append(f"{link.path} ({f.reason})")


def _summary(endpoint: Resource, links: list[lineage.Link], passed: int) -> str:
    """endpoint E serves model M (artifacts in bucket B, image in ECR repository R, runs as role X),
    and all N upstream checks on them pass."""
    by_model: dict[str, list[str]] = {}
    for link in links:
        if link.model is not None:
            by_model.setdefault(link.model, []).append(link.summary)
    if not by_model:
        config = endpoint.data.get("EndpointConfigName")
        if not config:
            return (
                f"endpoint {endpoint.name} names no endpoint configuration, so it serves no traceable model"
            )
        return (
            f"endpoint {endpoint.name} serves no model named in its endpoint configuration {config} "
            "(inference components are not traced)"
        )
    served = _names([f"model {model} ({', '.join(parts)})" for model, parts in by_model.items()])
    if passed == 0:
        return f"endpoint {endpoint.name} serves {served}, none of which AI Warden can check"
    if passed == 1:
        return f"endpoint {endpoint.name} serves {served}, and the one upstream check on them passes"
    return f"endpoint {endpoint.name} serves {served}, and all {passed} upstream checks on them pass"
