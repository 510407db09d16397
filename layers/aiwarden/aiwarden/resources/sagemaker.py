"""SageMaker notebook instances, models, endpoint configurations and endpoints, training and
processing jobs, Studio domains, model-monitor schedules and model-registry packages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef
from aiwarden.resources import ResourceType, bucket_usage, error_code, register, tagging, tags_from_list

if TYPE_CHECKING:
    from aiwarden.clients import Clients

CONSOLE = "https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/"


def _is_not_found(exc: ClientError) -> bool:
    # SageMaker reports a missing resource as ValidationException ("Could not find model ...",
    # "RecordNotFound") or ResourceNotFound, depending on the API.
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return code in {"ResourceNotFound", "ResourceNotFoundException"} or (
        code == "ValidationException"
        and any(m in message for m in ("could not find", "does not exist", "not found", "recordnotfound"))
    )


def _lazy_tags(clients: Clients, region: str, arn: str | None) -> Callable[[], dict[str, str]]:
    """Tags read on first use, once per invocation (see aiwarden.model.Resource), in bulk when the
    resource was announced to the Tagging API (see aiwarden.resources.tagging)."""
    if not arn:
        return dict

    def read_one() -> dict[str, str]:
        return dict(clients.memo(("sagemaker", "tags", arn), lambda: _tags(clients, region, arn)))

    return lambda: tagging.tags(clients, arn, read_one)


def _tags(clients: Clients, region: str, arn: str) -> dict[str, str]:
    sagemaker = clients.client("sagemaker", region)
    tags: dict[str, str] = {}
    for page in sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn):
        tags.update(tags_from_list(page.get("Tags")))
    return tags


def _describer(operation: str, name_param: str, arn_field: str) -> Callable[..., Resource | None]:
    def describe(clients: Clients, ref: ResourceRef) -> Resource | None:
        sagemaker = clients.client("sagemaker", ref.region)
        try:
            data = getattr(sagemaker, operation)(**{name_param: ref.resource_id})
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise
        data.pop("ResponseMetadata", None)
        arn = data.get(arn_field)
        described = ResourceRef(ref.type, ref.resource_id, ref.region, ref.account, arn)
        return Resource(ref=described, data=data, tags=_lazy_tags(clients, ref.region, arn))

    return describe


def _lister(
    operation: str,
    items_key: str,
    name_field: str,
    arn_field: str,
    params: Callable[[], dict[str, Any]] | None = None,
) -> Callable[[Clients], Iterator[ResourceRef]]:
    """A paginated lister; ``params`` (computed per call) narrows the listing, e.g. by time."""

    def list_refs(clients: Clients) -> Iterator[ResourceRef]:
        sagemaker = clients.client("sagemaker")
        resource_type = RESOURCE_TYPES_BY_OPERATION[operation]
        for page in sagemaker.get_paginator(operation).paginate(**(params() if params else {})):
            for item in page.get(items_key, []):
                yield ResourceRef(
                    resource_type,
                    item[name_field],
                    clients.region,
                    clients.account_id,
                    item.get(arn_field),
                )

    return list_refs


def _arn_regex(kind: str) -> re.Pattern[str]:
    return re.compile(rf"arn:aws[\w-]*:sagemaker:[\w-]+:\d{{12}}:{kind}/(?P<id>[^/]+)")


NOTEBOOK_INSTANCE = register(
    ResourceType(
        cfn_type="AWS::SageMaker::NotebookInstance",
        label="SageMaker notebook instance",
        describe=_describer("describe_notebook_instance", "NotebookInstanceName", "NotebookInstanceArn"),
        list_refs=_lister(
            "list_notebook_instances",
            "NotebookInstances",
            "NotebookInstanceName",
            "NotebookInstanceArn",
        ),
        arn_format="arn:{partition}:sagemaker:{region}:{account}:notebook-instance/{id}",
        console_format=CONSOLE + "notebook-instances/{id}",
        arn_regex=_arn_regex("notebook-instance"),
        permissions=(
            "sagemaker:ListNotebookInstances",
            "sagemaker:DescribeNotebookInstance",
            "sagemaker:ListTags",
            tagging.PERMISSION,
        ),
        # The Tagging API serves this type's tags (Tag Editor lists it): many at once in bulk.
        prefetch=tagging.announce_refs,
    )
)


def _prefetch_with_buckets(clients: Clients, refs: list[ResourceRef]) -> None:
    """Tags in bulk, and (sweeps with recorded reads) the buckets these resources use."""
    tagging.announce_refs(clients, refs)
    bucket_usage.prefetch_buckets_used(clients, refs)


ENDPOINT_CONFIG = register(
    ResourceType(
        cfn_type="AWS::SageMaker::EndpointConfig",
        label="SageMaker endpoint configuration",
        describe=_describer("describe_endpoint_config", "EndpointConfigName", "EndpointConfigArn"),
        list_refs=_lister(
            "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn"
        ),
        arn_format="arn:{partition}:sagemaker:{region}:{account}:endpoint-config/{id}",
        console_format=CONSOLE + "endpointConfig/{id}",
        arn_regex=_arn_regex("endpoint-config"),
        permissions=(
            "sagemaker:ListEndpointConfigs",
            "sagemaker:DescribeEndpointConfig",
            "sagemaker:ListTags",
            tagging.PERMISSION,
        ),
        # The Tagging API serves this type's tags (Tag Editor lists it): many at once in bulk.
        prefetch=_prefetch_with_buckets,
    )
)


def model_artifact_uris(model: dict[str, Any]) -> list[str]:
    """Every S3 location a model loads artifacts from, across all its containers."""
    containers = [model["PrimaryContainer"]] if model.get("PrimaryContainer") else []
    containers += model.get("Containers") or []
    uris = []
    for container in containers:
        if container.get("ModelDataUrl"):
            uris.append(container["ModelDataUrl"])
        source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
        if source.get("S3Uri"):
            uris.append(source["S3Uri"])
    return uris


def _models_using_bucket(clients: Clients, bucket_ref: ResourceRef) -> Iterator[ResourceRef]:
    """Lineage: the models in this region whose artifacts live in ``bucket_ref``: the bucket's AI
    usage (bucket_usage.ai_usage, from the usage index when there is one), whose models all exist now."""
    models = [
        use.ref for use in bucket_usage.ai_usage(clients, bucket_ref.resource_id) if use.ref.type is MODEL
    ]
    yield from dict.fromkeys(models)


MODEL = register(
    ResourceType(
        cfn_type="AWS::SageMaker::Model",
        label="SageMaker model",
        describe=_describer("describe_model", "ModelName", "ModelArn"),
        list_refs=_lister("list_models", "Models", "ModelName", "ModelArn"),
        arn_format="arn:{partition}:sagemaker:{region}:{account}:model/{id}",
        console_format=CONSOLE + "models/{id}",
        arn_regex=_arn_regex("model"),
        permissions=(
            "sagemaker:ListModels",
            "sagemaker:DescribeModel",
            "sagemaker:ListTags",
            tagging.PERMISSION,
        ),
        # The Tagging API serves this type's tags (Tag Editor lists it): many at once in bulk.
        prefetch=_prefetch_with_buckets,
        upstream={"AWS::S3::Bucket": _models_using_bucket},
    )
)


# --- training and processing jobs -----------------------------------------------------------
# AWS Config does not record training or processing jobs and CloudFormation has no type for them:
# "AWS::SageMaker::TrainingJob" / "AWS::SageMaker::ProcessingJob" follow the AWS naming style so
# findings still carry a readable resource type. Jobs are never deleted, so a sweep lists only
# those created in the last JOB_LOOKBACK (ListTrainingJobs/ListProcessingJobs CreationTimeAfter,
# paginated); older jobs finished long ago and re-reporting them daily would only add noise.
# CloudTrail triggers still evaluate every new job the moment it is created.
JOB_LOOKBACK = timedelta(days=30)


def _recent_jobs() -> dict[str, Any]:
    return {"CreationTimeAfter": datetime.now(UTC) - JOB_LOOKBACK}


TRAINING_JOB = register(
    ResourceType(
        cfn_type="AWS::SageMaker::TrainingJob",
        label="SageMaker training job",
        describe=_describer("describe_training_job", "TrainingJobName", "TrainingJobArn"),
        list_refs=_lister(
            "list_training_jobs",
            "TrainingJobSummaries",
            "TrainingJobName",
            "TrainingJobArn",
            params=_recent_jobs,
        ),
        arn_format="arn:{partition}:sagemaker:{region}:{account}:training-job/{id}",
        console_format=CONSOLE + "jobs/{id}",
        arn_regex=_arn_regex("training-job"),
        permissions=(
            "sagemaker:ListTrainingJobs",
            "sagemaker:DescribeTrainingJob",
            "sagemaker:ListTags",
            tagging.PERMISSION,
        ),
        # The Tagging API serves this type's tags (Tag Editor lists it): many at once in bulk.
        prefetch=_prefetch_with_buckets,
    )
)

PROCESSING_JOB = register(
    ResourceType(
        cfn_type="AWS::SageMaker::ProcessingJob",
        label="SageMaker processing job",
        describe=_describer("describe_processing_job", "ProcessingJobName", "ProcessingJobArn"),
        list_refs=_lister(
            "list_processing_jobs",
            "ProcessingJobSummaries",
            "ProcessingJobName",
            "ProcessingJobArn",
            params=_recent_jobs,
        ),
        arn_format="arn:{partition}:sagemaker:{region}:{account}:processing-job/{id}",
        console_format=CONSOLE + "processing-jobs/{id}",
        arn_regex=_arn_regex("processing-job"),
        permissions=(
            "sagemaker:ListProcessingJobs",
            "sagemaker:DescribeProcessingJob",
            "sagemaker:ListTags",
        ),
    )
)


def job_instance_types(resource_config: dict[str, Any]) -> list[str]:
    """Instance types of a training ResourceConfig or processing ClusterConfig, heterogeneous
    clusters (InstanceGroups) included."""
    groups = resource_config.get("InstanceGroups") or []
    types = [g.get("InstanceType", "") for g in groups]
    if resource_config.get("InstanceType"):
        types.append(resource_config["InstanceType"])
    return [t for t in types if t]


def job_instance_count(resource_config: dict[str, Any]) -> int:
    """How many instances a training ResourceConfig or processing ClusterConfig runs."""
    groups = resource_config.get("InstanceGroups") or []
    grouped = sum(int(g.get("InstanceCount") or 0) for g in groups)
    return int(resource_config.get("InstanceCount") or 0) + grouped


# --- Studio domains -------------------------------------------------------------------------


def _describe_domain(clients: Clients, ref: ResourceRef) -> Resource | None:
    """Domains are addressed by id (d-xxxxxxxxxxxx). A Config item may carry the domain's name
    instead, so an id that is not found is retried as a name."""
    sagemaker = clients.client("sagemaker", ref.region)
    domain_id: str | None = ref.resource_id
    try:
        data = sagemaker.describe_domain(DomainId=domain_id)
    except ClientError as exc:
        if not _is_not_found(exc):
            raise
        domain_id = _domain_id_for_name(clients, ref.region, ref.resource_id)
        if domain_id is None:
            return None
        try:
            data = sagemaker.describe_domain(DomainId=domain_id)
        except ClientError as retry_exc:
            if _is_not_found(retry_exc):
                return None
            raise
    data.pop("ResponseMetadata", None)
    arn = data.get("DomainArn")
    described = ResourceRef(ref.type, str(data.get("DomainId") or domain_id), ref.region, ref.account, arn)
    return Resource(ref=described, data=data, tags=_lazy_tags(clients, ref.region, arn))


def _domain_id_for_name(clients: Clients, region: str, name: str) -> str | None:
    sagemaker = clients.client("sagemaker", region)
    for page in sagemaker.get_paginator("list_domains").paginate():
        for domain in page.get("Domains", []):
            if domain.get("DomainName") == name:
                return str(domain["DomainId"])
    return None


DOMAIN = register(
    ResourceType(
        cfn_type="AWS::SageMaker::Domain",
        label="SageMaker domain",
        describe=_describe_domain,
        list_refs=_lister("list_domains", "Domains", "DomainId", "DomainArn"),
        arn_format="arn:{partition}:sagemaker:{region}:{account}:domain/{id}",
        console_format=CONSOLE + "studio/{id}",
        arn_regex=_arn_regex("domain"),
        permissions=("sagemaker:ListDomains", "sagemaker:DescribeDomain", "sagemaker:ListTags"),
        # Config names a domain by its name; DescribeDomain takes the id (resourceId).
        config_id_field="resourceId",
    )
)


# --- model-monitor schedules ----------------------------------------------------------------

MONITORING_SCHEDULE = register(
    ResourceType(
        cfn_type="AWS::SageMaker::MonitoringSchedule",
        label="SageMaker monitoring schedule",
        describe=_describer(
            "describe_monitoring_schedule", "MonitoringScheduleName", "MonitoringScheduleArn"
        ),
        list_refs=_lister(
            "list_monitoring_schedules",
            "MonitoringScheduleSummaries",
            "MonitoringScheduleName",
            "MonitoringScheduleArn",
        ),
        arn_format="arn:{partition}:sagemaker:{region}:{account}:monitoring-schedule/{id}",
        console_format=CONSOLE + "monitoring-schedules/{id}",
        arn_regex=_arn_regex("monitoring-schedule"),
        permissions=(
            "sagemaker:ListMonitoringSchedules",
            "sagemaker:DescribeMonitoringSchedule",
            "sagemaker:ListTags",
        ),
    )
)

# MonitoringType -> (describe call, IAM action) for a schedule that names its job definition.
MONITORING_JOB_DEFINITION_DESCRIBERS = {
    "DataQuality": ("describe_data_quality_job_definition", "sagemaker:DescribeDataQualityJobDefinition"),
    "ModelQuality": ("describe_model_quality_job_definition", "sagemaker:DescribeModelQualityJobDefinition"),
    "ModelBias": ("describe_model_bias_job_definition", "sagemaker:DescribeModelBiasJobDefinition"),
    "ModelExplainability": (
        "describe_model_explainability_job_definition",
        "sagemaker:DescribeModelExplainabilityJobDefinition",
    ),
}


def monitoring_network_config(clients: Clients, schedule: Resource) -> tuple[str, dict[str, Any]]:
    """(where the settings come from, the NetworkConfig the schedule's jobs run with).

    A schedule either embeds its job definition (data quality only) or names one created with
    Create{DataQuality,ModelQuality,ModelBias,ModelExplainability}JobDefinition; the named
    definition is read (once per invocation) with the Describe call for its MonitoringType."""
    config = schedule.data.get("MonitoringScheduleConfig") or {}
    inline = config.get("MonitoringJobDefinition")
    if inline is not None:
        return "its inline job definition", dict(inline.get("NetworkConfig") or {})
    name = config.get("MonitoringJobDefinitionName")
    if not name:
        return "no job definition", {}
    # The API defaults the type to DataQuality (the only type an inline definition can have).
    monitoring_type = config.get("MonitoringType") or schedule.data.get("MonitoringType") or "DataQuality"
    operation, _ = MONITORING_JOB_DEFINITION_DESCRIBERS[monitoring_type]
    region = schedule.ref.region

    def fetch() -> dict[str, Any]:
        response = getattr(clients.client("sagemaker", region), operation)(JobDefinitionName=name)
        return dict(response.get("NetworkConfig") or {})

    network = clients.memo(("sagemaker", "monitoring_job_definition", region, monitoring_type, name), fetch)
    return f"{monitoring_type} job definition {name}", dict(network)


# --- endpoints and the model registry -------------------------------------------------------


def _describe_model_package(clients: Clients, ref: ResourceRef) -> Resource | None:
    # Versioned packages ("group/3") can only be described by ARN.
    name = ref.arn if "/" in ref.resource_id and ref.arn else ref.resource_id
    data = model_package(clients, ref.region, name)
    if data is None:
        return None
    arn = data.get("ModelPackageArn")
    described = ResourceRef(ref.type, ref.resource_id, ref.region, ref.account, arn)
    return Resource(ref=described, data=data, tags=_lazy_tags(clients, ref.region, arn))


def _list_model_packages(clients: Clients) -> Iterator[ResourceRef]:
    sagemaker = clients.client("sagemaker")
    for page in sagemaker.get_paginator("list_model_packages").paginate(ModelPackageType="Both"):
        for item in page.get("ModelPackageSummaryList", []):
            arn = item["ModelPackageArn"]
            package_id = MODEL_PACKAGE.id_from_arn(arn) or item["ModelPackageName"]
            yield ResourceRef(MODEL_PACKAGE, package_id, clients.region, clients.account_id, arn)


# Not evaluated by any check itself: the type exists so an UpdateModelPackage (approval status)
# event can name the package and re-evaluate the endpoints serving models built from it.
MODEL_PACKAGE = register(
    ResourceType(
        cfn_type="AWS::SageMaker::ModelPackage",
        label="SageMaker model package",
        describe=_describe_model_package,
        list_refs=_list_model_packages,
        # Versioned packages: model-package/<group>/<version>; the id keeps "<group>/<version>".
        arn_format="arn:{partition}:sagemaker:{region}:{account}:model-package/{id}",
        console_format=CONSOLE + "model-registry",
        arn_regex=re.compile(r"arn:aws[\w-]*:sagemaker:[\w-]+:\d{12}:model-package/(?P<id>.+)"),
        permissions=(
            "sagemaker:ListModelPackages",
            "sagemaker:DescribeModelPackage",
            "sagemaker:ListTags",
        ),
    )
)


def model_package(clients: Clients, region: str, name_or_arn: str) -> dict[str, Any] | None:
    """DescribeModelPackage, once per invocation; None when the package no longer exists."""

    def fetch() -> dict[str, Any] | None:
        try:
            sagemaker = clients.client("sagemaker", region)
            data = dict(sagemaker.describe_model_package(ModelPackageName=name_or_arn))
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise
        data.pop("ResponseMetadata", None)
        return data

    result = clients.memo(("sagemaker", "model_package", region, name_or_arn), fetch)
    return dict(result) if result is not None else None


def model_containers(model: dict[str, Any]) -> list[dict[str, Any]]:
    containers = [model["PrimaryContainer"]] if model.get("PrimaryContainer") else []
    return containers + list(model.get("Containers") or [])


def config_model_names(config: dict[str, Any]) -> list[str]:
    """Models an endpoint configuration deploys, shadow variants included (variants of
    inference-component endpoints name no model and are skipped)."""
    variants = list(config.get("ProductionVariants") or [])
    variants += list(config.get("ShadowProductionVariants") or [])
    return list(dict.fromkeys(v["ModelName"] for v in variants if v.get("ModelName")))


def describe_named(
    clients: Clients, resource_type: ResourceType, name: str, like: ResourceRef
) -> Resource | None:
    """Describe another resource in ``like``'s account and region, sharing the engine's cache."""
    from aiwarden.engine import describe  # the engine's per-invocation cache (lazy: import cycle)

    return describe(clients, ResourceRef(resource_type, name, like.region, like.account))


def _endpoints_using_package(clients: Clients, package_ref: ResourceRef) -> Iterator[ResourceRef]:
    """Lineage: endpoints in this region serving a model built from ``package_ref``."""
    from aiwarden.engine import describe

    wanted = (package_ref.arn or package_ref.resource_id).lower()
    for ref in ENDPOINT.list_refs(clients):
        endpoint = describe(clients, ref)
        if endpoint is None or not endpoint.data.get("EndpointConfigName"):
            continue
        config = describe_named(clients, ENDPOINT_CONFIG, endpoint.data["EndpointConfigName"], endpoint.ref)
        if config is None:
            continue
        if any(_uses_package(clients, endpoint.ref, m, wanted) for m in config_model_names(config.data)):
            yield endpoint.ref


def _uses_package(clients: Clients, like: ResourceRef, model_name: str, wanted: str) -> bool:
    model = describe_named(clients, MODEL, model_name, like)
    if model is None:
        return False
    for container in model_containers(model.data):
        name = container.get("ModelPackageName")
        if not name:
            continue
        package = model_package(clients, like.region, name) or {}
        if str(package.get("ModelPackageArn") or name).lower() == wanted:
            return True
    return False


ENDPOINT = register(
    ResourceType(
        cfn_type="AWS::SageMaker::Endpoint",
        label="SageMaker endpoint",
        describe=_describer("describe_endpoint", "EndpointName", "EndpointArn"),
        list_refs=_lister("list_endpoints", "Endpoints", "EndpointName", "EndpointArn"),
        arn_format="arn:{partition}:sagemaker:{region}:{account}:endpoint/{id}",
        console_format=CONSOLE + "endpoints/{id}",
        arn_regex=_arn_regex("endpoint"),
        permissions=(
            "sagemaker:ListEndpoints",
            "sagemaker:DescribeEndpoint",
            "sagemaker:ListTags",
            tagging.PERMISSION,
        ),
        # The Tagging API serves this type's tags (Tag Editor lists it): many at once in bulk.
        prefetch=tagging.announce_refs,
        upstream={"AWS::SageMaker::ModelPackage": _endpoints_using_package},
    )
)

RESOURCE_TYPES_BY_OPERATION = {
    "list_notebook_instances": NOTEBOOK_INSTANCE,
    "list_endpoint_configs": ENDPOINT_CONFIG,
    "list_models": MODEL,
    "list_training_jobs": TRAINING_JOB,
    "list_processing_jobs": PROCESSING_JOB,
    "list_domains": DOMAIN,
    "list_monitoring_schedules": MONITORING_SCHEDULE,
    "list_endpoints": ENDPOINT,
}
