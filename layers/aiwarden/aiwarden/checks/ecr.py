"""ECR private repositories that hold training and inference container images."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.policy import public_statements
from aiwarden.registry import ALL_RESOURCES, check, cloudtrail
from aiwarden.resources import ecr, kms
from aiwarden.resources.ecr import REPOSITORY

NAME = "requestParameters.repositoryName"
# Exemption-tag changes re-evaluate the repository; ECR's tagging calls name it by ARN.
TAGGING = cloudtrail("ecr", "TagResource", "UntagResource", ids="requestParameters.resourceArn")


@check(
    id="ecr_repository_scan_on_push_enabled",
    title="ECR repositories scan images for vulnerabilities automatically",
    severity=Severity.HIGH,
    resource=REPOSITORY,
    triggers=[
        cloudtrail("ecr", "CreateRepository", "PutImageScanningConfiguration", ids=NAME),
        TAGGING,
        # Registry-wide scanning rules cover many repositories at once.
        cloudtrail("ecr", "PutRegistryScanningConfiguration", ids=ALL_RESOURCES),
        # Turning Inspector's ECR scanning on or off switches the registry to or from enhanced scanning.
        cloudtrail("inspector2", "Enable", "Disable", ids=ALL_RESOURCES),
    ],
    permissions=["ecr:GetRegistryScanningConfiguration"],
    practice=Practice.REGULAR_ASSESSMENTS,
    remediation=(
        "Scan every pushed image: registry-wide with enhanced (Inspector) scanning, aws ecr "
        "put-registry-scanning-configuration --scan-type ENHANCED --rules "
        '\'[{"scanFrequency":"CONTINUOUS_SCAN","repositoryFilters":[{"filter":"*",'
        '"filterType":"WILDCARD"}]}]\', or per repository with basic scanning, aws ecr '
        "put-image-scanning-configuration --repository-name REPOSITORY "
        "--image-scanning-configuration scanOnPush=true."
    ),
    controls={
        "AWS-FSBP": ["ECR.1"],
        "AWS-Config": ["ECR_PRIVATE_IMAGE_SCANNING_ENABLED"],
        "NIST-800-53r5": ["RA-5"],
    },
)
def repository_scan_on_push_enabled(repository: Resource, clients: Clients) -> Outcome:
    registry = ecr.registry_scanning(clients, repository.ref.region)
    scan_type = registry.get("scanType") or "BASIC"
    frequency = ecr.registry_scan_rule(registry, repository.name)
    if frequency is not None:
        return ok(
            f"repository {repository.name} is scanned by the registry's {scan_type} scanning rule "
            f"({frequency})"
        )
    if (repository.data.get("imageScanningConfiguration") or {}).get("scanOnPush"):
        return ok(f"repository {repository.name} scans images on push")
    return fail(
        f"repository {repository.name} does not scan images on push and no {scan_type} registry "
        "scanning rule covers it"
    )


@check(
    id="ecr_repository_tag_immutability_enabled",
    title="ECR repositories make image tags immutable",
    severity=Severity.MEDIUM,
    resource=REPOSITORY,
    triggers=[cloudtrail("ecr", "CreateRepository", "PutImageTagMutability", ids=NAME), TAGGING],
    permissions=[],
    practice=Practice.PATCHING_AND_UPDATES,
    remediation=(
        "Make tags immutable so a deployed model image tag always means the same image digest: "
        "aws ecr put-image-tag-mutability --repository-name REPOSITORY --image-tag-mutability "
        "IMMUTABLE. CI that re-pushes a moving tag such as latest must then push versioned tags "
        "(or use IMMUTABLE_WITH_EXCLUSION for that one tag)."
    ),
    controls={
        "AWS-FSBP": ["ECR.2"],
        "AWS-Config": ["ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED"],
        "NIST-800-53r5": ["CA-9(1)", "CM-2", "CM-8(1)"],
    },
)
def repository_tag_immutability_enabled(repository: Resource, clients: Clients) -> Outcome:
    mutability = repository.data.get("imageTagMutability") or "MUTABLE"
    if mutability == "IMMUTABLE":
        return ok(f"repository {repository.name} makes image tags immutable")
    if mutability == "IMMUTABLE_WITH_EXCLUSION":
        excluded = [
            str(f.get("filter")) for f in repository.data.get("imageTagMutabilityExclusionFilters") or []
        ]
        return ok(
            f"repository {repository.name} makes image tags immutable except those matching "
            + (", ".join(excluded) or "its exclusion filters")
        )
    return fail(f"repository {repository.name} lets image tags be overwritten ({mutability})")


@check(
    id="ecr_repository_policy_not_public",
    title="ECR repository policies grant nothing to every principal",
    severity=Severity.CRITICAL,
    resource=REPOSITORY,
    triggers=[
        cloudtrail("ecr", "CreateRepository", "SetRepositoryPolicy", "DeleteRepositoryPolicy", ids=NAME),
        TAGGING,
    ],
    permissions=["ecr:GetRepositoryPolicy"],
    practice=Practice.LEAST_PRIVILEGE,
    remediation=(
        'Replace Principal "*" in the repository policy with the account or role ARNs that pull '
        "the images, or pin it with a fixed-value condition such as aws:PrincipalOrgID: aws ecr "
        "set-repository-policy --repository-name REPOSITORY --policy-text file://policy.json, or drop "
        "the policy with aws ecr delete-repository-policy --repository-name REPOSITORY."
    ),
)
def repository_policy_not_public(repository: Resource, clients: Clients) -> Outcome:
    statements = public_statements(ecr.repository_policy(clients, repository))
    if statements:
        return fail(
            f"repository {repository.name}'s policy lets every principal in without a restricting "
            f"condition (statement {', '.join(statements)})"
        )
    return ok(f"repository {repository.name}'s policy grants nothing to every principal")


@check(
    id="ecr_repository_kms_encrypted",
    title="ECR repositories encrypt images with a customer managed KMS key",
    severity=Severity.MEDIUM,
    resource=REPOSITORY,
    triggers=[cloudtrail("ecr", "CreateRepository", ids=NAME), TAGGING],
    permissions=["kms:DescribeKey"],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Encryption is fixed when a repository is created: create a replacement with aws ecr "
        "create-repository --repository-name NEW_REPOSITORY --encryption-configuration "
        "encryptionType=KMS,kmsKey=CMK_ARN (or a repository creation template), push the images to "
        "it, repoint task and model definitions, then delete the old repository."
    ),
    controls={
        "AWS-FSBP": ["ECR.5"],
        "AWS-Config": ["ECR_REPOSITORY_CMK_ENCRYPTION_ENABLED"],
    },
)
def repository_kms_encrypted(repository: Resource, clients: Clients) -> Outcome:
    # Like ECR.5, an AWS managed aws/ecr key does not count: the account cannot control its policy.
    encryption = repository.data.get("encryptionConfiguration") or {}
    encryption_type = encryption.get("encryptionType") or "AES256"
    if encryption_type not in {"KMS", "KMS_DSSE"}:
        return fail(f"repository {repository.name} encrypts images with {encryption_type}, not a KMS key")
    key = encryption.get("kmsKey")
    manager = kms.key_manager(clients, key, repository.ref.region)
    if manager == "AWS":
        return fail(
            f"repository {repository.name} encrypts images with the AWS managed key aws/ecr, "
            "not a customer managed key"
        )
    if manager == "MISSING":
        return fail(
            f"repository {repository.name} encrypts images with KMS key {key}, which no longer exists"
        )
    return ok(
        f"repository {repository.name} encrypts images ({encryption_type}) with customer managed key {key}"
    )
