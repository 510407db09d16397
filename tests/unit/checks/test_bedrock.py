"""Bedrock checks. Invocation logging runs on moto; guardrails, agents, custom models and data
sources run on botocore's Stubber with responses in the shapes of botocore's bedrock and
bedrock-agent service models (moto has no guardrail or data-source API, keeps no agent guardrail
configuration and gives every custom model a KMS key)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from aiwarden.engine import evaluate
from aiwarden.events import Target, normalise
from aiwarden.model import ResourceRef, Status
from aiwarden.resources.account import ACCOUNT as ACCOUNT_TYPE
from aiwarden.resources.bedrock import AGENT, CUSTOM_MODEL, DATA_SOURCE, GUARDRAIL, KNOWLEDGE_BASE
from tests.unit.helpers import ACCOUNT, REGION, check_finding

LOGGING = "bedrock_model_invocation_logging_enabled"
GUARDRAIL_FILTERS = "bedrock_guardrail_sensitive_filters_configured"
AGENT_GUARDRAIL = "bedrock_agent_guardrail_attached"
CUSTOM_MODEL_CMK = "bedrock_custom_model_cmk_encrypted"
DATA_SOURCE_CMK = "bedrock_knowledge_base_data_source_cmk_encrypted"

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b5e8a3c-1d2f-4e6a-9b7c-8d9e0f1a2b3c"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/aiw-bedrock"
EXEMPT = [{"key": "aiwarden:exempt", "value": "true"}]


@pytest.fixture
def bedrock(aws):
    return aws.client("bedrock")


@pytest.fixture
def bedrock_agent(aws):
    return aws.client("bedrock-agent")


def cloudtrail_event(event_name: str, request: dict[str, Any], response: Any = None) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "0c6f5c1e-aiw",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.bedrock",
        "account": ACCOUNT,
        "region": REGION,
        "detail": {
            "eventSource": "bedrock.amazonaws.com",
            "eventName": event_name,
            "awsRegion": REGION,
            "recipientAccountId": ACCOUNT,
            "requestParameters": request,
            "responseElements": response,
        },
    }


def targets_of(event: dict[str, Any]) -> dict[str, set[str]]:
    """resource type -> ids the event names (None for "every resource")."""
    found: dict[str, set[str]] = {}
    for target in normalise(event).targets:
        found.setdefault(target.scope.cfn_type, set()).add(target.ref.resource_id if target.ref else None)
    return found


# --- bedrock_model_invocation_logging_enabled (moto) -----------------------------------------


def test_invocation_logging_to_s3_passes(bedrock, aws):
    bedrock.put_model_invocation_logging_configuration(
        loggingConfig={"s3Config": {"bucketName": "aiw-bedrock-logs"}, "textDataDeliveryEnabled": True}
    )

    finding = check_finding(LOGGING, ACCOUNT, aws)

    assert finding.status is Status.PASS
    assert "S3 bucket aiw-bedrock-logs" in finding.reason
    assert REGION in finding.reason


def test_invocation_logging_to_cloudwatch_passes(bedrock, aws):
    bedrock.put_model_invocation_logging_configuration(
        loggingConfig={"cloudWatchConfig": {"logGroupName": "/aiw/bedrock", "roleArn": ROLE}}
    )

    finding = check_finding(LOGGING, ACCOUNT, aws)

    assert finding.status is Status.PASS
    assert "CloudWatch Logs group /aiw/bedrock" in finding.reason


def test_no_invocation_logging_fails(aws):
    finding = check_finding(LOGGING, ACCOUNT, aws)

    assert finding.status is Status.FAIL
    assert "does not log Bedrock model invocations" in finding.reason


def test_deleted_invocation_logging_fails(bedrock, aws):
    bedrock.put_model_invocation_logging_configuration(loggingConfig={"s3Config": {"bucketName": "aiw-logs"}})
    bedrock.delete_model_invocation_logging_configuration()

    assert check_finding(LOGGING, ACCOUNT, aws).status is Status.FAIL


def test_logging_change_reevaluates_the_account():
    found = targets_of(cloudtrail_event("DeleteModelInvocationLoggingConfiguration", {}))

    assert found == {ACCOUNT_TYPE.cfn_type: {None}}


# --- bedrock_guardrail_sensitive_filters_configured (Stubber) --------------------------------

GUARDRAIL_ID = "cmy5azq5koeo"
GUARDRAIL_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/{GUARDRAIL_ID}"
PROMPT_ATTACK = {"type": "PROMPT_ATTACK", "inputStrength": "HIGH", "outputStrength": "NONE"}
HATE = {"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}
EMAIL = {"type": "EMAIL", "action": "ANONYMIZE"}


def guardrail(
    filters: list[dict[str, Any]] | None = None,
    pii: list[dict[str, Any]] | None = None,
    regexes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "name": "aiw-chat-guardrail",
        "guardrailId": GUARDRAIL_ID,
        "guardrailArn": GUARDRAIL_ARN,
        "version": "DRAFT",
        "status": "READY",
        "createdAt": NOW,
        "updatedAt": NOW,
        "blockedInputMessaging": "Sorry, I cannot answer that.",
        "blockedOutputsMessaging": "Sorry, I cannot answer that.",
    }
    if filters is not None:
        response["contentPolicy"] = {"filters": filters}
    policy = {key: value for key, value in (("piiEntities", pii), ("regexes", regexes)) if value}
    if policy:
        response["sensitiveInformationPolicy"] = policy
    return response


def run_guardrail(aws, bedrock, response: dict[str, Any] | None, tags: list[dict[str, str]] | None = None):
    with Stubber(bedrock) as stub:
        if response is None:
            stub.add_client_error("get_guardrail", "ResourceNotFoundException", http_status_code=404)
        else:
            stub.add_response("get_guardrail", response, {"guardrailIdentifier": GUARDRAIL_ID})
            stub.add_response("list_tags_for_resource", {"tags": tags or []}, {"resourceARN": GUARDRAIL_ARN})
        finding = check_finding(GUARDRAIL_FILTERS, GUARDRAIL_ID, aws)
        stub.assert_no_pending_responses()
    return finding


def test_guardrail_with_prompt_attack_and_pii_filters_passes(bedrock, aws):
    finding = run_guardrail(aws, bedrock, guardrail([HATE, PROMPT_ATTACK], pii=[EMAIL]))

    assert finding.status is Status.PASS
    assert "aiw-chat-guardrail" in finding.reason
    assert "HIGH strength" in finding.reason
    assert finding.ref.arn == GUARDRAIL_ARN


def test_guardrail_with_a_blocking_regex_counts_as_sensitive_information_filter(bedrock, aws):
    regex = {"name": "employee-id", "pattern": "EMP-[0-9]{6}", "action": "BLOCK"}

    assert run_guardrail(aws, bedrock, guardrail([PROMPT_ATTACK], regexes=[regex])).status is Status.PASS


def test_guardrail_without_prompt_attack_filter_fails(bedrock, aws):
    finding = run_guardrail(aws, bedrock, guardrail([HATE], pii=[EMAIL]))

    assert finding.status is Status.FAIL
    assert "no prompt-attack content filter" in finding.reason
    assert "PII" not in finding.reason


def test_prompt_attack_filter_at_strength_none_fails(bedrock, aws):
    weak = {**PROMPT_ATTACK, "inputStrength": "NONE"}

    finding = run_guardrail(aws, bedrock, guardrail([weak], pii=[EMAIL]))

    assert finding.status is Status.FAIL
    assert "input strength NONE" in finding.reason


def test_detect_only_prompt_attack_filter_fails(bedrock, aws):
    detect_only = {**PROMPT_ATTACK, "inputAction": "NONE"}

    finding = run_guardrail(aws, bedrock, guardrail([detect_only], pii=[EMAIL]))

    assert finding.status is Status.FAIL
    assert "only detects" in finding.reason


def test_prompt_attack_filter_disabled_for_input_fails(bedrock, aws):
    disabled = {**PROMPT_ATTACK, "inputEnabled": False}

    assert run_guardrail(aws, bedrock, guardrail([disabled], pii=[EMAIL])).status is Status.FAIL


def test_guardrail_without_sensitive_information_policy_fails(bedrock, aws):
    finding = run_guardrail(aws, bedrock, guardrail([PROMPT_ATTACK]))

    assert finding.status is Status.FAIL
    assert "no sensitive-information (PII) filter" in finding.reason


def test_detect_only_pii_filters_fail(bedrock, aws):
    detect_only = {"type": "EMAIL", "action": "NONE", "inputAction": "NONE", "outputAction": "NONE"}

    finding = run_guardrail(aws, bedrock, guardrail([PROMPT_ATTACK], pii=[detect_only]))

    assert finding.status is Status.FAIL
    assert "only detect" in finding.reason


def test_empty_guardrail_names_both_problems(bedrock, aws):
    finding = run_guardrail(aws, bedrock, guardrail())

    assert finding.status is Status.FAIL
    assert "prompt-attack" in finding.reason
    assert "sensitive-information" in finding.reason


def test_exempt_guardrail_is_exempt(bedrock, aws):
    finding = run_guardrail(aws, bedrock, guardrail(), tags=EXEMPT)

    assert finding.status is Status.EXEMPT
    assert "would be FAIL" in finding.reason


def test_deleted_guardrail_is_not_applicable(bedrock, aws):
    assert run_guardrail(aws, bedrock, None).status is Status.NOT_APPLICABLE


def test_guardrail_events_name_the_guardrail():
    created = cloudtrail_event(
        "CreateGuardrail",
        {"name": "HIDDEN_DUE_TO_SECURITY_REASONS"},
        {"guardrailId": GUARDRAIL_ID, "guardrailArn": GUARDRAIL_ARN, "version": "DRAFT"},
    )
    updated = cloudtrail_event("UpdateGuardrail", {"guardrailIdentifier": GUARDRAIL_ARN})
    tagged = cloudtrail_event("TagResource", {"resourceARN": GUARDRAIL_ARN, "tags": EXEMPT})

    for event in (created, updated, tagged):
        assert targets_of(event) == {GUARDRAIL.cfn_type: {GUARDRAIL_ID}}


# --- bedrock_agent_guardrail_attached (Stubber) ----------------------------------------------

AGENT_ID = "AIWAGENT01"
AGENT_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:agent/{AGENT_ID}"


def agent(guardrail_config: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agentId": AGENT_ID,
        "agentName": "aiw-support-agent",
        "agentArn": AGENT_ARN,
        "agentVersion": "DRAFT",
        "agentStatus": "PREPARED",
        "foundationModel": "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "idleSessionTTLInSeconds": 600,
        "agentResourceRoleArn": ROLE,
        "createdAt": NOW,
        "updatedAt": NOW,
    }
    if guardrail_config is not None:
        body["guardrailConfiguration"] = guardrail_config
    return {"agent": body}


def run_agent(aws, bedrock_agent, response: dict[str, Any] | None, tags: dict[str, str] | None = None):
    with Stubber(bedrock_agent) as stub:
        if response is None:
            stub.add_client_error("get_agent", "ResourceNotFoundException", http_status_code=404)
        else:
            stub.add_response("get_agent", response, {"agentId": AGENT_ID})
            stub.add_response("list_tags_for_resource", {"tags": tags or {}}, {"resourceArn": AGENT_ARN})
        finding = check_finding(AGENT_GUARDRAIL, AGENT_ID, aws)
        stub.assert_no_pending_responses()
    return finding


def test_agent_with_guardrail_passes(bedrock_agent, aws):
    config = {"guardrailIdentifier": GUARDRAIL_ID, "guardrailVersion": "2"}

    finding = run_agent(aws, bedrock_agent, agent(config))

    assert finding.status is Status.PASS
    assert f"guardrail {GUARDRAIL_ID} version 2" in finding.reason
    assert "aiw-support-agent" in finding.reason


def test_agent_without_guardrail_fails(bedrock_agent, aws):
    finding = run_agent(aws, bedrock_agent, agent())

    assert finding.status is Status.FAIL
    assert "applies no guardrail" in finding.reason


def test_agent_with_empty_guardrail_configuration_fails(bedrock_agent, aws):
    assert run_agent(aws, bedrock_agent, agent({})).status is Status.FAIL


def test_exempt_agent_is_exempt(bedrock_agent, aws):
    finding = run_agent(aws, bedrock_agent, agent(), tags={"aiwarden:exempt": "true"})

    assert finding.status is Status.EXEMPT


def test_deleted_agent_is_not_applicable(bedrock_agent, aws):
    assert run_agent(aws, bedrock_agent, None).status is Status.NOT_APPLICABLE


def test_agent_events_name_the_agent():
    created = cloudtrail_event(
        "CreateAgent",
        {"agentName": "aiw-support-agent"},
        {"agent": {"agentId": AGENT_ID, "agentArn": AGENT_ARN}},
    )
    updated = cloudtrail_event("UpdateAgent", {"agentId": AGENT_ID, "agentName": "aiw-support-agent"})
    tagged = cloudtrail_event("UntagResource", {"resourceArn": AGENT_ARN, "tagKeys": ["aiwarden:exempt"]})

    for event in (created, updated, tagged):
        assert targets_of(event) == {AGENT.cfn_type: {AGENT_ID}}


# --- bedrock_custom_model_cmk_encrypted (Stubber) --------------------------------------------

MODEL_NAME = "aiw-support-tuned"
MODEL_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.titan-text-express-v1:0:8k/ly16hhi765j4"
JOB_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/amazon.titan-text-express-v1:0:8k/x1"
BASE_MODEL = f"arn:aws:bedrock:{REGION}::foundation-model/amazon.titan-text-express-v1:0:8k"


def custom_model(key: str | None) -> dict[str, Any]:
    response = {
        "modelArn": MODEL_ARN,
        "modelName": MODEL_NAME,
        "jobName": "aiw-tune-1",
        "jobArn": JOB_ARN,
        "baseModelArn": BASE_MODEL,
        "customizationType": "FINE_TUNING",
        "creationTime": NOW,
        "modelStatus": "Active",
    }
    if key:
        response["modelKmsKeyArn"] = key
    return response


def run_custom_model(aws, bedrock, identifier: str, response: dict[str, Any], tags=None):
    with Stubber(bedrock) as stub:
        stub.add_response("get_custom_model", response, {"modelIdentifier": identifier})
        stub.add_response("list_tags_for_resource", {"tags": tags or []}, {"resourceARN": MODEL_ARN})
        finding = check_finding(CUSTOM_MODEL_CMK, identifier, aws)
        stub.assert_no_pending_responses()
    return finding


def test_custom_model_with_customer_managed_key_passes(bedrock, aws):
    finding = run_custom_model(aws, bedrock, MODEL_NAME, custom_model(KEY_ARN))

    assert finding.status is Status.PASS
    assert KEY_ARN in finding.reason
    assert finding.ref.arn == MODEL_ARN


def test_custom_model_with_aws_owned_key_fails(bedrock, aws):
    finding = run_custom_model(aws, bedrock, MODEL_NAME, custom_model(None))

    assert finding.status is Status.FAIL
    assert MODEL_NAME in finding.reason
    assert "AWS owned key" in finding.reason


def test_custom_model_named_by_arn_is_reported_by_name(bedrock, aws):
    finding = run_custom_model(aws, bedrock, MODEL_ARN, custom_model(None))

    assert finding.status is Status.FAIL
    assert finding.ref.resource_id == MODEL_NAME


def test_exempt_custom_model_is_exempt(bedrock, aws):
    finding = run_custom_model(aws, bedrock, MODEL_NAME, custom_model(None), tags=EXEMPT)

    assert finding.status is Status.EXEMPT


def job_summary(name: str, status: str = "InProgress") -> dict[str, Any]:
    return {
        "jobArn": JOB_ARN,
        "baseModelArn": BASE_MODEL,
        "jobName": f"{name}-job",
        "status": status,
        "creationTime": NOW,
        "customModelName": name,
    }


def job(key: str | None) -> dict[str, Any]:
    response = {
        "jobArn": JOB_ARN,
        "jobName": f"{MODEL_NAME}-job",
        "outputModelName": MODEL_NAME,
        "roleArn": ROLE,
        "status": "InProgress",
        "creationTime": NOW,
        "baseModelArn": BASE_MODEL,
        "trainingDataConfig": {"s3Uri": "s3://aiw-training/train.jsonl"},
        "validationDataConfig": {"validators": [{"s3Uri": "s3://aiw-training/validation.jsonl"}]},
        "outputDataConfig": {"s3Uri": "s3://aiw-training/output/"},
    }
    if key:
        response["outputModelKmsKeyArn"] = key
    return response


def run_pending(aws, bedrock, summaries: list[dict[str, Any]], details: dict[str, Any] | None):
    with Stubber(bedrock) as stub:
        stub.add_client_error("get_custom_model", "ResourceNotFoundException", http_status_code=404)
        stub.add_response(
            "list_model_customization_jobs",
            {"modelCustomizationJobSummaries": summaries},
            {"statusEquals": "InProgress"},
        )
        if details is not None:
            stub.add_response("get_model_customization_job", details, {"jobIdentifier": JOB_ARN})
        finding = check_finding(CUSTOM_MODEL_CMK, MODEL_NAME, aws)
        stub.assert_no_pending_responses()
    return finding


def test_model_still_in_training_without_key_fails_at_job_creation(bedrock, aws):
    finding = run_pending(aws, bedrock, [job_summary("other-model"), job_summary(MODEL_NAME)], job(None))

    assert finding.status is Status.FAIL
    assert f"being trained by job {MODEL_NAME}-job" in finding.reason


def test_model_still_in_training_with_key_passes(bedrock, aws):
    finding = run_pending(aws, bedrock, [job_summary(MODEL_NAME)], job(KEY_ARN))

    assert finding.status is Status.PASS
    assert KEY_ARN in finding.reason


def test_deleted_custom_model_is_not_applicable(bedrock, aws):
    finding = run_pending(aws, bedrock, [job_summary("other-model")], None)

    assert finding.status is Status.NOT_APPLICABLE


def test_custom_model_events_name_the_model():
    job_event = cloudtrail_event(
        "CreateModelCustomizationJob",
        {"jobName": "aiw-tune-1", "customModelName": MODEL_NAME},
        {"jobArn": JOB_ARN},
    )
    imported = cloudtrail_event("CreateCustomModel", {"modelName": MODEL_NAME}, {"modelArn": MODEL_ARN})
    tagged = cloudtrail_event("TagResource", {"resourceARN": MODEL_ARN, "tags": EXEMPT})

    assert targets_of(job_event) == {CUSTOM_MODEL.cfn_type: {MODEL_NAME}}
    assert targets_of(imported) == {CUSTOM_MODEL.cfn_type: {MODEL_NAME}}
    assert targets_of(tagged) == {CUSTOM_MODEL.cfn_type: {MODEL_ARN}}


# --- bedrock_knowledge_base_data_source_cmk_encrypted (Stubber) ------------------------------

KB_ID = "AIWKB00001"
DS_ID = "AIWDS00001"
KB_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}"
SOURCE_ID = f"{KB_ID}/{DS_ID}"


def data_source(key: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "name": "aiw-policies",
        "status": "AVAILABLE",
        "dataSourceConfiguration": {
            "type": "S3",
            "s3Configuration": {"bucketArn": "arn:aws:s3:::aiw-kb-documents"},
        },
        "createdAt": NOW,
        "updatedAt": NOW,
    }
    if key:
        body["serverSideEncryptionConfiguration"] = {"kmsKeyArn": key}
    return {"dataSource": body}


def stub_data_source(stub: Stubber, response: dict[str, Any], tags: dict[str, str] | None = None) -> None:
    stub.add_response("get_data_source", response, {"knowledgeBaseId": KB_ID, "dataSourceId": DS_ID})
    stub.add_response("list_tags_for_resource", {"tags": tags or {}}, {"resourceArn": KB_ARN})


def run_data_source(aws, bedrock_agent, response, tags=None, source_id: str = SOURCE_ID):
    with Stubber(bedrock_agent) as stub:
        if response is None:
            stub.add_client_error("get_data_source", "ResourceNotFoundException", http_status_code=404)
        else:
            stub_data_source(stub, response, tags)
        finding = check_finding(DATA_SOURCE_CMK, source_id, aws)
        stub.assert_no_pending_responses()
    return finding


def test_data_source_with_customer_managed_key_passes(bedrock_agent, aws):
    finding = run_data_source(aws, bedrock_agent, data_source(KEY_ARN))

    assert finding.status is Status.PASS
    assert "aiw-policies" in finding.reason
    assert KEY_ARN in finding.reason


def test_data_source_without_key_fails(bedrock_agent, aws):
    finding = run_data_source(aws, bedrock_agent, data_source(None))

    assert finding.status is Status.FAIL
    assert SOURCE_ID in finding.reason
    assert "AWS owned key" in finding.reason


def test_config_style_data_source_id_is_accepted(bedrock_agent, aws):
    finding = run_data_source(aws, bedrock_agent, data_source(None), source_id=f"{KB_ID}|{DS_ID}")

    assert finding.status is Status.FAIL
    assert finding.ref.resource_id == SOURCE_ID


def test_data_source_of_exempt_knowledge_base_is_exempt(bedrock_agent, aws):
    finding = run_data_source(aws, bedrock_agent, data_source(None), tags={"aiwarden:exempt": "true"})

    assert finding.status is Status.EXEMPT


def test_deleted_data_source_is_not_applicable(bedrock_agent, aws):
    assert run_data_source(aws, bedrock_agent, None).status is Status.NOT_APPLICABLE


def test_malformed_data_source_id_is_an_error(aws):
    finding = check_finding(DATA_SOURCE_CMK, "not-a-data-source-id", aws)

    assert finding.status is Status.ERROR
    assert "<knowledgeBaseId>/<dataSourceId>" in finding.reason


def test_data_source_change_reevaluates_the_knowledge_bases_data_sources(bedrock_agent, aws):
    found = targets_of(
        cloudtrail_event("UpdateDataSource", {"knowledgeBaseId": KB_ID, "dataSourceId": DS_ID, "name": "x"})
    )
    assert found == {KNOWLEDGE_BASE.cfn_type: {KB_ID}}

    target = Target(
        scope=KNOWLEDGE_BASE,
        check_ids=frozenset({DATA_SOURCE_CMK}),
        ref=ResourceRef(KNOWLEDGE_BASE, KB_ID, REGION, ACCOUNT),
    )
    summary = {"knowledgeBaseId": KB_ID, "dataSourceId": DS_ID, "name": "aiw-policies", "status": "AVAILABLE"}
    with Stubber(bedrock_agent) as stub:
        stub.add_response(
            "list_data_sources",
            {"dataSourceSummaries": [{**summary, "updatedAt": NOW}]},
            {"knowledgeBaseId": KB_ID},
        )
        stub_data_source(stub, data_source(None))
        findings = evaluate([target], aws)
        stub.assert_no_pending_responses()

    assert [(f.check_id, f.ref.type, f.ref.resource_id, f.status) for f in findings] == [
        (DATA_SOURCE_CMK, DATA_SOURCE, SOURCE_ID, Status.FAIL)
    ]


def test_knowledge_base_tag_change_reevaluates_its_data_sources():
    found = targets_of(
        cloudtrail_event("TagResource", {"resourceArn": KB_ARN, "tags": {"aiwarden:exempt": "true"}})
    )

    assert found == {KNOWLEDGE_BASE.cfn_type: {KB_ID}}
