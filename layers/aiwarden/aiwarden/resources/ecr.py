"""ECR private repositories: where inference and training container images live."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef
from aiwarden.resources import ResourceType, error_code, register, tags_from_list

if TYPE_CHECKING:
    from aiwarden.clients import Clients

GONE = {"RepositoryNotFoundException"}


def _resource(clients: Clients, ref: ResourceRef, repository: dict[str, Any]) -> Resource:
    """A repository as DescribeRepositories reports it, listed or described: the listing carries
    every field the checks read. Tags (ListTagsForResource) are read only when asked for."""
    arn = repository.get("repositoryArn")
    ecr = clients.client("ecr", ref.region)

    def tags() -> dict[str, str]:
        return tags_from_list(ecr.list_tags_for_resource(resourceArn=arn).get("tags")) if arn else {}

    described = ResourceRef(
        REPOSITORY,
        repository.get("repositoryName") or ref.resource_id,
        ref.region,
        repository.get("registryId") or ref.account,
        arn,
    )
    return Resource(ref=described, data=dict(repository), tags=tags)


def _describe(clients: Clients, ref: ResourceRef) -> Resource | None:
    ecr = clients.client("ecr", ref.region)
    try:
        repository = ecr.describe_repositories(repositoryNames=[ref.resource_id])["repositories"][0]
    except ClientError as exc:
        if error_code(exc) in GONE:
            return None
        raise
    return _resource(clients, ref, repository)


def _list(clients: Clients) -> Iterator[ResourceRef]:
    from aiwarden.engine import describe_key

    for page in clients.client("ecr").get_paginator("describe_repositories").paginate():
        for repository in page.get("repositories", []):
            ref = ResourceRef(
                REPOSITORY,
                repository["repositoryName"],
                clients.region,
                repository.get("registryId") or clients.account_id,
                repository.get("repositoryArn"),
            )
            # The listing is DescribeRepositories itself: describing again would repeat the call.
            clients.seed(describe_key(ref), _resource(clients, ref, repository))
            yield ref


def _prefetch(clients: Clients, refs: list[ResourceRef]) -> None:
    """A sweep work item names its repositories: describe up to 100 per call. One missing
    repository fails the whole call (RepositoryNotFoundException): then each is described alone."""
    from aiwarden.engine import describe_key

    pending = [r for r in refs if not clients.known(describe_key(r))]
    by_region: dict[str, list[ResourceRef]] = {}
    for ref in pending:
        by_region.setdefault(ref.region, []).append(ref)
    for region, region_refs in by_region.items():
        for start in range(0, len(region_refs), 100):
            batch = {ref.resource_id: ref for ref in region_refs[start : start + 100]}
            try:
                response = clients.client("ecr", region).describe_repositories(repositoryNames=list(batch))
            except ClientError:
                continue  # e.g. one of them was deleted since the listing: describe each alone
            for repository in response.get("repositories", []):
                ref = batch.get(repository.get("repositoryName", ""))
                if ref is not None:
                    clients.seed(describe_key(ref), _resource(clients, ref, repository))


def registry_scanning(clients: Clients, region: str) -> dict[str, Any]:
    """The private registry's scanning configuration (scanType, rules), read once per region."""

    def fetch() -> dict[str, Any]:
        response = clients.client("ecr", region).get_registry_scanning_configuration()
        return dict(response.get("scanningConfiguration") or {})

    return dict(clients.memo(("ecr", "registry_scanning", region), fetch))


# Frequencies that scan an image without anyone asking (MANUAL does not).
AUTOMATIC_SCANS = {"SCAN_ON_PUSH", "CONTINUOUS_SCAN"}


def registry_scan_rule(configuration: dict[str, Any], repository: str) -> str | None:
    """The automatic scan frequency a registry rule applies to ``repository`` (wildcard filters,
    as ECR matches them), or None when no rule covers it."""
    for rule in configuration.get("rules") or []:
        frequency = rule.get("scanFrequency")
        if frequency not in AUTOMATIC_SCANS:
            continue
        for repo_filter in rule.get("repositoryFilters") or []:
            if repo_filter.get("filterType", "WILDCARD") == "WILDCARD" and fnmatchcase(
                repository, str(repo_filter.get("filter", ""))
            ):
                return str(frequency)
    return None


def repository_policy(clients: Clients, repository: Resource) -> dict[str, Any] | None:
    def fetch() -> dict[str, Any] | None:
        try:
            response = clients.client("ecr", repository.ref.region).get_repository_policy(
                repositoryName=repository.name
            )
        except ClientError as exc:
            if error_code(exc) == "RepositoryPolicyNotFoundException":
                return None
            raise
        return dict(json.loads(response["policyText"]))

    result = clients.memo(("ecr", "policy", repository.ref.region, repository.name), fetch)
    return dict(result) if result is not None else None


REPOSITORY = register(
    ResourceType(
        cfn_type="AWS::ECR::Repository",
        label="ECR repository",
        describe=_describe,
        list_refs=_list,
        arn_format="arn:{partition}:ecr:{region}:{account}:repository/{id}",
        console_format=(
            "https://{region}.console.aws.amazon.com/ecr/repositories/private/{account}/{id}?region={region}"
        ),
        # Repository names may hold namespaces ("team/model"), so the id runs to the end.
        arn_regex=re.compile(r"arn:aws[\w-]*:ecr:[\w-]+:\d{12}:repository/(?P<id>.+)"),
        permissions=("ecr:DescribeRepositories", "ecr:ListTagsForResource"),
        prefetch=_prefetch,
    )
)
