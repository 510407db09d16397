"""Build the CloudTrail record AWS would log for an API call made against moto.

moto emits no CloudTrail events, so the demo makes each drift change as a real boto3 call and
turns the call and its response into the record CloudTrail documents: eventSource from the
service's signing name, CloudTrail's own eventName where it differs from the API name (S3),
requestParameters in CloudTrail's form (lowerCamelCase; S3 with bucketName, Host and the
subresource marker), secrets omitted, responseElements null where AWS logs null, and errorCode /
errorMessage on a failed call.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

# CloudTrail names some S3 operations differently from the API (S3 user guide, "Amazon S3
# CloudTrail events").
S3_EVENT_NAMES = {
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "DeleteBucketPublicAccessBlock",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutBucketLifecycleConfiguration": "PutBucketLifecycle",
    "GetBucketLifecycleConfiguration": "GetBucketLifecycle",
}
S3CONTROL_EVENT_NAMES = {
    "PutPublicAccessBlock": "PutAccountPublicAccessBlock",
    "DeletePublicAccessBlock": "DeleteAccountPublicAccessBlock",
    "GetPublicAccessBlock": "GetAccountPublicAccessBlock",
}
# The empty query-string marker CloudTrail records for each S3 subresource call.
S3_SUBRESOURCE = {
    "PutBucketEncryption": "encryption",
    "DeleteBucketEncryption": "encryption",
    "PutBucketPolicy": "policy",
    "DeleteBucketPolicy": "policy",
    "PutBucketAcl": "acl",
    "PutPublicAccessBlock": "publicAccessBlock",
    "DeletePublicAccessBlock": "publicAccessBlock",
    "PutBucketTagging": "tagging",
    "DeleteBucketTagging": "tagging",
}
SECRET_PARAMETERS = {"Password", "NewPassword", "OldPassword", "SecretAccessKey", "PrivateKey"}


def lower_camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            (k[:1].lower() + k[1:]): lower_camel(v)
            for k, v in value.items()
            if k not in SECRET_PARAMETERS and k != "ResponseMetadata"
        }
    if isinstance(value, list):
        return [lower_camel(v) for v in value]
    if isinstance(value, datetime):
        # CloudTrail's IAM/SageMaker responseElements render dates like "Aug 1, 2024 1:42:21 PM".
        return value.astimezone(UTC).strftime("%b %-d, %Y %-I:%M:%S %p")
    return value


def _s3_request(operation: str, params: dict[str, Any], region: str) -> dict[str, Any]:
    bucket = params.get("Bucket", "")
    request: dict[str, Any] = {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com"}
    marker = S3_SUBRESOURCE.get(operation)
    if marker:
        request[marker] = ""
    if operation == "PutBucketPolicy":
        request["bucketPolicy"] = json.loads(params["Policy"])
    for key, value in params.items():
        if key not in {"Bucket", "Policy", "ChecksumAlgorithm", "ContentMD5"}:
            request[key] = _xml_body(value) if isinstance(value, dict) else value
    return request


def _xml_body(body: dict[str, Any]) -> dict[str, Any]:
    """CloudTrail logs an S3 XML body as JSON: the XML namespace included, and a one-element
    list as the element itself (``Rules: [r]`` becomes ``Rule: r``)."""
    out: dict[str, Any] = {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}
    for key, value in body.items():
        if isinstance(value, list) and key.endswith("s"):
            out[key[:-1]] = value[0] if len(value) == 1 else value
        else:
            out[key] = value
    return out


def identity(kind: str, account: str, name: str) -> dict[str, Any]:
    """A userIdentity block as CloudTrail logs it, for an assumed role session or IAM user."""
    if kind == "IAMUser":
        return {
            "type": "IAMUser",
            "principalId": "AIDA" + uuid.uuid5(uuid.NAMESPACE_DNS, name).hex[:17].upper(),
            "arn": f"arn:aws:iam::{account}:user/{name}",
            "accountId": account,
            "accessKeyId": "AKIA" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:16].upper(),
            "userName": name,
        }
    role, session = name.split("/", 1)
    role_id = "AROA" + uuid.uuid5(uuid.NAMESPACE_DNS, role).hex[:17].upper()
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIA" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:16].upper(),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {
                "creationDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "mfaAuthenticated": "true",
            },
        },
    }


def record(
    client: Any,
    method: str,
    params: dict[str, Any],
    user_identity: dict[str, Any],
    account: str,
    region: str,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Call ``client.method(**params)`` and return (CloudTrail record, response or None)."""
    service_model = client.meta.service_model
    operation = client.meta.method_to_api_mapping[method]
    service = service_model.signing_name
    when = datetime.now(UTC)
    response: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    try:
        response = getattr(client, method)(**params)
    except ClientError as exc:
        error = {
            "errorCode": str(exc.response["Error"].get("Code")),
            "errorMessage": str(exc.response["Error"].get("Message")),
        }
    if service_model.service_name == "s3control":
        event_name = S3CONTROL_EVENT_NAMES.get(operation, operation)
        request = lower_camel({k: v for k, v in params.items()})
    elif service == "s3":
        event_name = S3_EVENT_NAMES.get(operation, operation)
        request = _s3_request(operation, params, region)
    else:
        event_name = operation
        request = lower_camel(params)
    # S3 logs null responseElements; so does any failed call.
    response_elements = None if service == "s3" or response is None else (lower_camel(response) or None)
    ct_region = "us-east-1" if service == "iam" else region
    trail: dict[str, Any] = {
        "eventVersion": "1.10",
        "userIdentity": user_identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": f"{service}.amazonaws.com",
        "eventName": event_name,
        "awsRegion": ct_region,
        "sourceIPAddress": "203.0.113.24",
        "userAgent": "aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.1 os/linux#6.8 md/arch#x86_64 lang/python#3.12.6",
        "requestParameters": request,
        "responseElements": response_elements,
        "requestID": uuid.uuid4().hex.upper()[:16],
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{service}.{ct_region}.amazonaws.com",
        },
    }
    if error:
        trail.update(error)
    if service == "s3":
        trail["additionalEventData"] = {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": uuid.uuid4().hex,
            "bytesTransferredOut": 0,
        }
        trail["resources"] = [
            {
                "accountId": account,
                "type": "AWS::S3::Bucket",
                "ARN": f"arn:aws:s3:::{params.get('Bucket')}",
            }
        ]
    return trail, response


def envelope(trail: dict[str, Any]) -> dict[str, Any]:
    """PutEvents entry for the record, as CloudTrail hands it to EventBridge."""
    service = trail["eventSource"].split(".", 1)[0]
    return {
        "Source": f"aws.{service}",
        "DetailType": "AWS API Call via CloudTrail",
        "Detail": json.dumps(trail),
        "Time": datetime.now(UTC),
    }
