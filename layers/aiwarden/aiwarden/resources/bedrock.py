"""Amazon Bedrock: guardrails, custom models, agents, knowledge bases and their data sources, and
the region's model-invocation logging setting.

Guardrails and custom models belong to the ``bedrock`` API; agents, knowledge bases and data
sources to ``bedrock-agent``. Both APIs sign as ``bedrock`` and log to CloudTrail with eventSource
bedrock.amazonaws.com, and their IAM actions share the ``bedrock:`` prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef
from aiwarden.resources import ResourceType, error_code, partition, register

if TYPE_CHECKING:
    from aiwarden.clients import Clients

CONSOLE = "https://{region}.console.aws.amazon.com/bedrock/home?region={region}#/"


def _gone(exc: ClientError) -> bool:
    return error_code(exc) == "ResourceNotFoundException"


def _arn_regex(kind: str, id_pattern: str = r"[^/]+") -> re.Pattern[str]:
    return re.compile(rf"arn:aws[\w-]*:bedrock:[\w-]+:\d{{12}}:{kind}/(?P<id>{id_pattern})")


def _control_plane_tags(clients: Clients, region: str, arn: str | None) -> dict[str, str]:
    """Tags of a ``bedrock`` resource (guardrail, custom model): a [{key, value}] list."""
    if not arn:
        return {}
    response = clients.client("bedrock", region).list_tags_for_resource(resourceARN=arn)
    return {t["key"]: t.get("value", "") for t in response.get("tags") or []}


def _agent_api_tags(clients: Clients, region: str, arn: str | None) -> dict[str, str]:
    """Tags of a ``bedrock-agent`` resource (agent, knowledge base): a {key: value} map."""
    if not arn:
        return {}

    def fetch() -> dict[str, str]:
        response = clients.client("bedrock-agent", region).list_tags_for_resource(resourceArn=arn)
        return dict(response.get("tags") or {})

    return dict(clients.memo(("bedrock-agent", "tags", arn), fetch))


# --- guardrails -----------------------------------------------------------------------------


def _describe_guardrail(clients: Clients, ref: ResourceRef) -> Resource | None:
    # Without a version GetGuardrail returns the working draft: what UpdateGuardrail changes and
    # what the next CreateGuardrailVersion will publish.
    try:
        data = clients.client("bedrock", ref.region).get_guardrail(guardrailIdentifier=ref.resource_id)
    except ClientError as exc:
        if _gone(exc):
            return None
        raise
    data.pop("ResponseMetadata", None)
    arn = data.get("guardrailArn")
    described = ResourceRef(
        GUARDRAIL, data.get("guardrailId") or ref.resource_id, ref.region, ref.account, arn
    )
    return Resource(ref=described, data=data, tags=_control_plane_tags(clients, ref.region, arn))


def _list_guardrails(clients: Clients) -> Iterator[ResourceRef]:
    bedrock = clients.client("bedrock")
    for page in bedrock.get_paginator("list_guardrails").paginate():
        for item in page.get("guardrails", []):
            yield ResourceRef(GUARDRAIL, item["id"], clients.region, clients.account_id, item.get("arn"))


GUARDRAIL = register(
    ResourceType(
        cfn_type="AWS::Bedrock::Guardrail",
        label="Bedrock guardrail",
        describe=_describe_guardrail,
        list_refs=_list_guardrails,
        arn_format="arn:{partition}:bedrock:{region}:{account}:guardrail/{id}",
        console_format=CONSOLE + "guardrails",
        arn_regex=_arn_regex("guardrail"),
        permissions=("bedrock:ListGuardrails", "bedrock:GetGuardrail", "bedrock:ListTagsForResource"),
    )
)


# --- custom models --------------------------------------------------------------------------


def _pending_custom_model(clients: Clients, ref: ResourceRef) -> Resource | None:
    """A custom model a running customization job will create. The model only exists once the
    job completes, hours after the CreateModelCustomizationJob event; its key is fixed when the job
    starts, so it is judged then, from the job (no tags yet: those come with the model)."""
    bedrock = clients.client("bedrock", ref.region)
    paginator = bedrock.get_paginator("list_model_customization_jobs")
    for page in paginator.paginate(statusEquals="InProgress"):
        for job in page.get("modelCustomizationJobSummaries", []):
            if job.get("customModelName") != ref.resource_id:
                continue
            details = bedrock.get_model_customization_job(jobIdentifier=job["jobArn"])
            data = {
                "modelName": ref.resource_id,
                "modelKmsKeyArn": details.get("outputModelKmsKeyArn"),
                "pendingJobName": details.get("jobName") or job.get("jobName"),
            }
            return Resource(ref=ref, data=data)
    return None


def _describe_custom_model(clients: Clients, ref: ResourceRef) -> Resource | None:
    # GetCustomModel takes the name or the ARN; the finding is always reported by name.
    try:
        data = clients.client("bedrock", ref.region).get_custom_model(modelIdentifier=ref.resource_id)
    except ClientError as exc:
        if _gone(exc):
            return None if ref.resource_id.startswith("arn:") else _pending_custom_model(clients, ref)
        raise
    data.pop("ResponseMetadata", None)
    arn = data.get("modelArn")
    described = ResourceRef(
        CUSTOM_MODEL, data.get("modelName") or ref.resource_id, ref.region, ref.account, arn
    )
    return Resource(ref=described, data=data, tags=_control_plane_tags(clients, ref.region, arn))


def _list_custom_models(clients: Clients) -> Iterator[ResourceRef]:
    bedrock = clients.client("bedrock")
    # isOwned: models other accounts shared with this one are encrypted under their owner's key.
    for page in bedrock.get_paginator("list_custom_models").paginate(isOwned=True):
        for item in page.get("modelSummaries", []):
            yield ResourceRef(
                CUSTOM_MODEL, item["modelName"], clients.region, clients.account_id, item.get("modelArn")
            )


CUSTOM_MODEL = register(
    ResourceType(
        # CloudFormation has no custom-model type (models come out of customization jobs): this is
        # the closest AWS-style name, as Prowler and Terraform (aws_bedrock_custom_model) call it.
        cfn_type="AWS::Bedrock::CustomModel",
        label="Bedrock custom model",
        describe=_describe_custom_model,
        list_refs=_list_custom_models,
        # The ARN ends in a generated id, not the name, so it cannot be built from the name; an
        # ARN in an event (a tag change) is kept whole: GetCustomModel accepts it as identifier.
        arn_format=None,
        console_format=CONSOLE + "custom-models",
        arn_regex=re.compile(r"(?P<id>arn:aws[\w-]*:bedrock:[\w-]+:\d{12}:custom-model/.+)"),
        permissions=(
            "bedrock:ListCustomModels",
            "bedrock:GetCustomModel",
            "bedrock:ListTagsForResource",
            "bedrock:ListModelCustomizationJobs",
            "bedrock:GetModelCustomizationJob",
        ),
    )
)


# --- agents ---------------------------------------------------------------------------------


def _describe_agent(clients: Clients, ref: ResourceRef) -> Resource | None:
    try:
        data = clients.client("bedrock-agent", ref.region).get_agent(agentId=ref.resource_id)["agent"]
    except ClientError as exc:
        if _gone(exc):
            return None
        raise
    arn = data.get("agentArn")
    described = ResourceRef(AGENT, ref.resource_id, ref.region, ref.account, arn)
    return Resource(ref=described, data=dict(data), tags=_agent_api_tags(clients, ref.region, arn))


def _list_agents(clients: Clients) -> Iterator[ResourceRef]:
    agents = clients.client("bedrock-agent")
    for page in agents.get_paginator("list_agents").paginate():
        for item in page.get("agentSummaries", []):
            yield ResourceRef(AGENT, item["agentId"], clients.region, clients.account_id)


AGENT = register(
    ResourceType(
        cfn_type="AWS::Bedrock::Agent",
        label="Bedrock agent",
        describe=_describe_agent,
        list_refs=_list_agents,
        arn_format="arn:{partition}:bedrock:{region}:{account}:agent/{id}",
        console_format=CONSOLE + "agents/{id}",
        arn_regex=_arn_regex("agent"),
        permissions=("bedrock:ListAgents", "bedrock:GetAgent", "bedrock:ListTagsForResource"),
    )
)


# --- knowledge bases and data sources -------------------------------------------------------


def knowledge_base_arn(region: str, account: str, knowledge_base_id: str) -> str:
    return f"arn:{partition(region)}:bedrock:{region}:{account}:knowledge-base/{knowledge_base_id}"


def _describe_knowledge_base(clients: Clients, ref: ResourceRef) -> Resource | None:
    agents = clients.client("bedrock-agent", ref.region)
    try:
        data = agents.get_knowledge_base(knowledgeBaseId=ref.resource_id)["knowledgeBase"]
    except ClientError as exc:
        if _gone(exc):
            return None
        raise
    arn = data.get("knowledgeBaseArn")
    described = ResourceRef(KNOWLEDGE_BASE, ref.resource_id, ref.region, ref.account, arn)
    return Resource(ref=described, data=dict(data), tags=_agent_api_tags(clients, ref.region, arn))


def _knowledge_base_ids(clients: Clients) -> Iterator[str]:
    agents = clients.client("bedrock-agent")
    for page in agents.get_paginator("list_knowledge_bases").paginate():
        for item in page.get("knowledgeBaseSummaries", []):
            yield item["knowledgeBaseId"]


def _list_knowledge_bases(clients: Clients) -> Iterator[ResourceRef]:
    for kb_id in _knowledge_base_ids(clients):
        yield ResourceRef(KNOWLEDGE_BASE, kb_id, clients.region, clients.account_id)


KNOWLEDGE_BASE = register(
    ResourceType(
        cfn_type="AWS::Bedrock::KnowledgeBase",
        label="Bedrock knowledge base",
        describe=_describe_knowledge_base,
        list_refs=_list_knowledge_bases,
        arn_format="arn:{partition}:bedrock:{region}:{account}:knowledge-base/{id}",
        console_format=CONSOLE + "knowledge-bases",
        arn_regex=_arn_regex("knowledge-base"),
        permissions=("bedrock:ListKnowledgeBases", "bedrock:GetKnowledgeBase", "bedrock:ListTagsForResource"),
    )
)

# A data source has no ARN and no tags of its own: AI Warden names it
# "<knowledgeBaseId>/<dataSourceId>" (CloudFormation's and Config's identifier joins the same two
# ids with "|", which is accepted too) and it inherits its knowledge base's tags.
_DATA_SOURCE_ID = re.compile(r"(?P<kb>[0-9a-zA-Z]+)[/|](?P<ds>[0-9a-zA-Z]+)")


def data_source_id(knowledge_base_id: str, data_source_id: str) -> str:
    return f"{knowledge_base_id}/{data_source_id}"


def _describe_data_source(clients: Clients, ref: ResourceRef) -> Resource | None:
    match = _DATA_SOURCE_ID.fullmatch(ref.resource_id)
    if match is None:
        raise ValueError(f"{ref.resource_id!r} is not <knowledgeBaseId>/<dataSourceId>")
    kb_id, ds_id = match.group("kb"), match.group("ds")
    agents = clients.client("bedrock-agent", ref.region)
    try:
        data = agents.get_data_source(knowledgeBaseId=kb_id, dataSourceId=ds_id)["dataSource"]
    except ClientError as exc:
        if _gone(exc):
            return None
        raise
    described = ResourceRef(DATA_SOURCE, data_source_id(kb_id, ds_id), ref.region, ref.account)
    kb_arn = knowledge_base_arn(ref.region, ref.account, kb_id)
    return Resource(ref=described, data=dict(data), tags=_agent_api_tags(clients, ref.region, kb_arn))


def _data_sources_in(clients: Clients, region: str, account: str, kb_id: str) -> Iterator[ResourceRef]:
    agents = clients.client("bedrock-agent", region)
    for page in agents.get_paginator("list_data_sources").paginate(knowledgeBaseId=kb_id):
        for item in page.get("dataSourceSummaries", []):
            yield ResourceRef(DATA_SOURCE, data_source_id(kb_id, item["dataSourceId"]), region, account)


def _list_data_sources(clients: Clients) -> Iterator[ResourceRef]:
    for kb_id in _knowledge_base_ids(clients):
        yield from _data_sources_in(clients, clients.region, clients.account_id, kb_id)


def _data_sources_of_knowledge_base(clients: Clients, kb_ref: ResourceRef) -> Iterator[ResourceRef]:
    """Lineage: a Create/UpdateDataSource event names only the knowledge base id in one field, so
    it re-evaluates every data source of that knowledge base."""
    yield from _data_sources_in(clients, kb_ref.region, kb_ref.account, kb_ref.resource_id)


DATA_SOURCE = register(
    ResourceType(
        cfn_type="AWS::Bedrock::DataSource",
        label="Bedrock knowledge base data source",
        describe=_describe_data_source,
        list_refs=_list_data_sources,
        arn_format=None,
        console_format=CONSOLE + "knowledge-bases",
        permissions=(
            "bedrock:ListKnowledgeBases",
            "bedrock:ListDataSources",
            "bedrock:GetDataSource",
            "bedrock:ListTagsForResource",
        ),
        upstream={"AWS::Bedrock::KnowledgeBase": _data_sources_of_knowledge_base},
    )
)


# --- region settings ------------------------------------------------------------------------


def invocation_logging(clients: Clients, region: str) -> dict[str, Any]:
    """The region's model-invocation logging configuration; {} when logging is off."""

    def fetch() -> dict[str, Any]:
        response = clients.client("bedrock", region).get_model_invocation_logging_configuration()
        return dict(response.get("loggingConfig") or {})

    return dict(clients.memo(("bedrock", "invocation_logging", region), fetch))
