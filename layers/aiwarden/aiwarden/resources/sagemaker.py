"""SageMaker notebook instances, models and endpoint configurations."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aiwarden.model import Resource, ResourceRef
from aiwarden.resources import ResourceType, error_code, register, s3, tags_from_list

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
        tags = _tags(clients, ref.region, arn) if arn else {}
        return Resource(ref=described, data=data, tags=tags)

    return describe


def _lister(
    operation: str, items_key: str, name_field: str, arn_field: str
) -> Callable[[Clients], Iterator[ResourceRef]]:
    def list_refs(clients: Clients) -> Iterator[ResourceRef]:
        sagemaker = clients.client("sagemaker")
        resource_type = RESOURCE_TYPES_BY_OPERATION[operation]
        for page in sagemaker.get_paginator(operation).paginate():
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
        ),
    )
)

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
        ),
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
    """Lineage: the models in this region whose artifacts live in ``bucket_ref``."""
    for ref in MODEL.list_refs(clients):
        model = clients.memo(("describe", ref), lambda ref=ref: MODEL.describe(clients, ref))
        if model is None:
            continue
        buckets = {parsed[0] for uri in model_artifact_uris(model.data) if (parsed := s3.parse_s3_uri(uri))}
        if bucket_ref.resource_id in buckets:
            yield model.ref


MODEL = register(
    ResourceType(
        cfn_type="AWS::SageMaker::Model",
        label="SageMaker model",
        describe=_describer("describe_model", "ModelName", "ModelArn"),
        list_refs=_lister("list_models", "Models", "ModelName", "ModelArn"),
        arn_format="arn:{partition}:sagemaker:{region}:{account}:model/{id}",
        console_format=CONSOLE + "models/{id}",
        arn_regex=_arn_regex("model"),
        permissions=("sagemaker:ListModels", "sagemaker:DescribeModel", "sagemaker:ListTags"),
        upstream={"AWS::S3::Bucket": _models_using_bucket},
    )
)

RESOURCE_TYPES_BY_OPERATION = {
    "list_notebook_instances": NOTEBOOK_INSTANCE,
    "list_endpoint_configs": ENDPOINT_CONFIG,
    "list_models": MODEL,
}
