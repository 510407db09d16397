"""ECR fixes. Basic scan-on-push only adds scans (free for basic scanning); making tags immutable
changes what pushes succeed, so it is opt-in by name."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.remediation import fix


@fix(
    check_id="ecr_repository_scan_on_push_enabled",
    action="turn on scan-on-push for the repository",
    permissions=["ecr:PutImageScanningConfiguration"],
)
def repository_scan_on_push(repository: Resource, clients: Clients) -> str:
    clients.client("ecr", repository.ref.region).put_image_scanning_configuration(
        repositoryName=repository.name, imageScanningConfiguration={"scanOnPush": True}
    )
    return (
        f"turned on scan-on-push for repository {repository.name}; images already pushed are scanned "
        "only when pushed again or scanned by hand (aws ecr start-image-scan)"
    )


@fix(
    check_id="ecr_repository_tag_immutability_enabled",
    action="make the repository's image tags immutable",
    permissions=["ecr:PutImageTagMutability"],
    # A pipeline that re-pushes a moving tag such as "latest" fails from now on.
    disruptive=True,
)
def repository_tag_immutability(repository: Resource, clients: Clients) -> str:
    clients.client("ecr", repository.ref.region).put_image_tag_mutability(
        repositoryName=repository.name, imageTagMutability="IMMUTABLE"
    )
    return (
        f"made image tags of repository {repository.name} immutable; pushes that reuse a tag (e.g. latest) "
        "now fail: push versioned tags, or exclude the moving tag with IMMUTABLE_WITH_EXCLUSION"
    )
