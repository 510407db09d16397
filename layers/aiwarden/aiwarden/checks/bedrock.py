"""Amazon Bedrock: invocation logging, guardrails, agents, custom models and knowledge bases.

moto implements none of the guardrail, data-source or agent-guardrail APIs (and fakes a KMS key on
every custom model), so those checks are tested with botocore's Stubber on the response shapes of
botocore's bedrock and bedrock-agent service models; invocation logging is tested with moto.
"""

from __future__ import annotations

from typing import Any

from aiwarden.clients import Clients
from aiwarden.model import Outcome, Practice, Resource, Severity, fail, ok
from aiwarden.registry import ALL_RESOURCES, check, cloudtrail
from aiwarden.resources import bedrock
from aiwarden.resources.account import ACCOUNT
from aiwarden.resources.bedrock import AGENT, CUSTOM_MODEL, DATA_SOURCE, GUARDRAIL, KNOWLEDGE_BASE

# Exemption-tag changes. The bedrock API names the resource "resourceARN", bedrock-agent (agents,
# knowledge bases) "resourceArn"; both log as bedrock.amazonaws.com TagResource/UntagResource.
TAG_EVENTS = ("TagResource", "UntagResource")
CONTROL_PLANE_TAGGING = cloudtrail("bedrock", *TAG_EVENTS, ids="requestParameters.resourceARN")
AGENT_API_TAGGING = cloudtrail("bedrock", *TAG_EVENTS, ids="requestParameters.resourceArn")


@check(
    id="bedrock_model_invocation_logging_enabled",
    title="Amazon Bedrock logs model invocations to S3 or CloudWatch Logs",
    severity=Severity.MEDIUM,
    resource=ACCOUNT,
    triggers=[
        cloudtrail(
            "bedrock",
            "PutModelInvocationLoggingConfiguration",
            "DeleteModelInvocationLoggingConfiguration",
            ids=ALL_RESOURCES,
        )
    ],
    permissions=["bedrock:GetModelInvocationLoggingConfiguration"],
    practice=Practice.LOGGING_AND_MONITORING,
    remediation=(
        "Turn on model invocation logging in every region that uses Bedrock, to an SSE-KMS bucket "
        "whose policy lets bedrock.amazonaws.com write (or a KMS-encrypted log group and a role "
        "Bedrock can assume): aws bedrock put-model-invocation-logging-configuration "
        '--logging-config \'{"s3Config":{"bucketName":"BUCKET","keyPrefix":"bedrock/"},'
        '"textDataDeliveryEnabled":true,"imageDataDeliveryEnabled":true,'
        '"embeddingDataDeliveryEnabled":true}\'. The logs hold prompts and completions: restrict '
        "who can read them."
    ),
)
def model_invocation_logging_enabled(account: Resource, clients: Clients) -> Outcome:
    region = account.ref.region
    config = bedrock.invocation_logging(clients, region)
    destinations = []
    if bucket := (config.get("s3Config") or {}).get("bucketName"):
        destinations.append(f"S3 bucket {bucket}")
    if group := (config.get("cloudWatchConfig") or {}).get("logGroupName"):
        destinations.append(f"CloudWatch Logs group {group}")
    if not destinations:
        return fail(f"account {account.name} does not log Bedrock model invocations in {region}")
    where = " and ".join(destinations)
    return ok(f"account {account.name} logs Bedrock model invocations in {region} to {where}")


def _prompt_attack_problem(guardrail: dict[str, Any]) -> str | None:
    filters = (guardrail.get("contentPolicy") or {}).get("filters") or []
    attack = next((f for f in filters if f.get("type") == "PROMPT_ATTACK"), None)
    if attack is None:
        return "no prompt-attack content filter"
    if attack.get("inputStrength", "NONE") == "NONE":
        return "a prompt-attack filter with input strength NONE"
    if attack.get("inputEnabled") is False:
        return "its prompt-attack filter switched off for input"
    if attack.get("inputAction") == "NONE":
        return "a prompt-attack filter that only detects (input action NONE) and blocks nothing"
    return None


def _enforced(entry: dict[str, Any]) -> bool:
    """A PII entity or regex that blocks or masks on at least one side it is enabled on."""
    for side in ("input", "output"):
        if entry.get(f"{side}Enabled") is False:
            continue
        action = entry.get(f"{side}Action") or entry.get("action")
        if action and action != "NONE":
            return True
    return False


def _sensitive_information_problem(guardrail: dict[str, Any]) -> str | None:
    policy = guardrail.get("sensitiveInformationPolicy") or {}
    entries = [*(policy.get("piiEntities") or []), *(policy.get("regexes") or [])]
    if not entries:
        return "no sensitive-information (PII) filter"
    if not any(_enforced(e) for e in entries):
        return "sensitive-information filters that only detect (action NONE) and mask or block nothing"
    return None


# Tested with Stubber: moto has no guardrail API.
@check(
    id="bedrock_guardrail_sensitive_filters_configured",
    title="Bedrock guardrails block prompt attacks and filter sensitive information",
    severity=Severity.HIGH,
    resource=GUARDRAIL,
    triggers=[
        cloudtrail("bedrock", "CreateGuardrail", ids="responseElements.guardrailId"),
        cloudtrail("bedrock", "UpdateGuardrail", ids="requestParameters.guardrailIdentifier"),
        CONTROL_PLANE_TAGGING,
    ],
    permissions=[],
    practice=Practice.DATA_CLASSIFICATION,
    remediation=(
        "Add a prompt-attack filter and a sensitive-information policy to the guardrail, then "
        "publish a version: aws bedrock update-guardrail --guardrail-identifier ID --name NAME "
        "--blocked-input-messaging MSG --blocked-outputs-messaging MSG --content-policy-config "
        '\'{"filtersConfig":[{"type":"PROMPT_ATTACK","inputStrength":"HIGH","outputStrength":'
        '"NONE"}]}\' --sensitive-information-policy-config \'{"piiEntitiesConfig":[{"type":'
        '"EMAIL","action":"ANONYMIZE"},{"type":"US_SOCIAL_SECURITY_NUMBER","action":"BLOCK"}]}\' '
        "(update-guardrail replaces every policy: pass the existing ones too), then aws bedrock "
        "create-guardrail-version --guardrail-identifier ID and point applications at it."
    ),
)
def guardrail_sensitive_filters_configured(guardrail: Resource, clients: Clients) -> Outcome:
    # The working draft is judged: a guardrail with no filters at all is a misconfiguration, but
    # an account without guardrails is not (bedrock_agent_guardrail_attached covers their use).
    label = f"guardrail {guardrail.data.get('name', guardrail.name)} ({guardrail.name})"
    problems = [
        p
        for p in (_prompt_attack_problem(guardrail.data), _sensitive_information_problem(guardrail.data))
        if p is not None
    ]
    if problems:
        return fail(f"{label} has " + " and ".join(problems))
    filters = (guardrail.data.get("contentPolicy") or {}).get("filters") or []
    strength = next(f["inputStrength"] for f in filters if f.get("type") == "PROMPT_ATTACK")
    return ok(f"{label} blocks prompt attacks at {strength} strength and filters sensitive information")


# Tested with Stubber: moto's agents keep no guardrailConfiguration.
@check(
    id="bedrock_agent_guardrail_attached",
    title="Bedrock agents apply a guardrail",
    severity=Severity.HIGH,
    resource=AGENT,
    triggers=[
        cloudtrail("bedrock", "CreateAgent", ids="responseElements.agent.agentId"),
        cloudtrail("bedrock", "UpdateAgent", ids="requestParameters.agentId"),
        AGENT_API_TAGGING,
    ],
    permissions=[],
    practice=Practice.DATA_CLASSIFICATION,
    remediation=(
        "Attach a guardrail that blocks prompt attacks and filters sensitive information, then "
        "prepare the agent and move its aliases to a new version: aws bedrock-agent update-agent "
        "--agent-id ID --agent-name NAME --agent-resource-role-arn ROLE_ARN --foundation-model "
        "MODEL --guardrail-configuration guardrailIdentifier=GUARDRAIL_ID,guardrailVersion=1 "
        "(update-agent replaces the draft: pass its current settings too); aws bedrock-agent "
        "prepare-agent --agent-id ID."
    ),
)
def agent_guardrail_attached(agent: Resource, clients: Clients) -> Outcome:
    # GetAgent returns the working draft, from which new versions and aliases are made.
    label = f"agent {agent.data.get('agentName', agent.name)} ({agent.name})"
    config = agent.data.get("guardrailConfiguration") or {}
    identifier = config.get("guardrailIdentifier")
    if not identifier:
        return fail(f"{label} applies no guardrail to user input or model output")
    version = config.get("guardrailVersion") or "DRAFT"
    return ok(f"{label} applies guardrail {identifier} version {version}")


# Tested with Stubber: moto gives every custom model a made-up KMS key.
@check(
    id="bedrock_custom_model_cmk_encrypted",
    title="Bedrock custom models are encrypted with a customer managed KMS key",
    severity=Severity.MEDIUM,
    resource=CUSTOM_MODEL,
    triggers=[
        cloudtrail("bedrock", "CreateModelCustomizationJob", ids="requestParameters.customModelName"),
        cloudtrail("bedrock", "CreateCustomModel", ids="requestParameters.modelName"),
        CONTROL_PLANE_TAGGING,
    ],
    permissions=[],
    practice=Practice.ENCRYPTION,
    remediation=(
        "A custom model's key cannot be changed: train (or import) it again with a customer "
        "managed key, e.g. aws bedrock create-model-customization-job ... --custom-model-kms-key-id "
        "KEY_ARN (the key policy must let the job role and Bedrock use it), move provisioned "
        "throughput to the new model, then delete the old one (aws bedrock delete-custom-model "
        "--model-identifier NAME)."
    ),
)
def custom_model_cmk_encrypted(model: Resource, clients: Clients) -> Outcome:
    key = model.data.get("modelKmsKeyArn")
    job = model.data.get("pendingJobName")
    label = f"custom model {model.name}" + (f" (being trained by job {job})" if job else "")
    if not key:
        return fail(f"{label} is encrypted with an AWS owned key, not a customer managed KMS key")
    return ok(f"{label} is encrypted with customer managed key {key}")


# Tested with Stubber: moto has no data-source API.
@check(
    id="bedrock_knowledge_base_data_source_cmk_encrypted",
    title="Bedrock knowledge base data sources encrypt ingested data with a customer managed KMS key",
    severity=Severity.MEDIUM,
    resource=DATA_SOURCE,
    triggers=[
        # Both events name the data source's knowledge base in one field (the data source id is
        # another), so they re-evaluate every data source of that knowledge base.
        cloudtrail(
            "bedrock",
            "CreateDataSource",
            "UpdateDataSource",
            ids="requestParameters.knowledgeBaseId",
            resource=KNOWLEDGE_BASE,
        ),
        # A data source carries its knowledge base's aiwarden:exempt tag.
        cloudtrail("bedrock", *TAG_EVENTS, ids="requestParameters.resourceArn", resource=KNOWLEDGE_BASE),
    ],
    permissions=[],
    practice=Practice.ENCRYPTION,
    remediation=(
        "Set a customer managed key for the transient data Bedrock stores while ingesting the "
        "data source: aws bedrock-agent update-data-source --knowledge-base-id KB_ID "
        "--data-source-id DS_ID --name NAME --data-source-configuration FILE "
        "--server-side-encryption-configuration kmsKeyArn=KEY_ARN (pass the current configuration "
        "too), let the knowledge base's service role use the key, then re-run ingestion."
    ),
    controls={
        "AI-Security-v1": ["Bedrock.1"],
        "AWS-Config": ["BEDROCK_DATA_SOURCE_ENCRYPTION_ENABLED"],
    },
)
def knowledge_base_data_source_cmk_encrypted(source: Resource, clients: Clients) -> Outcome:
    label = f"data source {source.data.get('name', source.name)} ({source.name})"
    key = (source.data.get("serverSideEncryptionConfiguration") or {}).get("kmsKeyArn")
    if not key:
        return fail(f"{label} encrypts ingested data with an AWS owned key, not a customer managed KMS key")
    return ok(f"{label} encrypts ingested data with customer managed key {key}")
