"""A small AI estate with planted drift, created with real boto3 calls (against moto)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

EXEMPT = [{"Key": "aiwarden:exempt", "Value": "true"}]
ROLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


@dataclass
class Estate:
    account: str
    region: str
    kms_key_arn: str
    role_arn: str
    # resource id -> what was planted, so the demo (and tests) can say what to expect
    planted: dict[str, str] = field(default_factory=dict)


def _sse(algorithm: str, key: str | None = None) -> dict[str, Any]:
    default: dict[str, Any] = {"SSEAlgorithm": algorithm}
    if key:
        default["KMSMasterKeyID"] = key
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bool(key)}]}


def seed(clients: Any, account: str, region: str) -> Estate:
    """Create the demo estate; ``clients(service)`` returns a boto3 client for the endpoint."""
    s3, sm, iam, kms = clients("s3"), clients("sagemaker"), clients("iam"), clients("kms")
    key_arn = kms.create_key(Description="ai-models")["KeyMetadata"]["Arn"]
    role_arn = iam.create_role(
        RoleName="SageMakerExecution", AssumeRolePolicyDocument=json.dumps(ROLE_TRUST)
    )["Role"]["Arn"]
    estate = Estate(account=account, region=region, kms_key_arn=key_arn, role_arn=role_arn)

    def bucket(
        name: str,
        encryption: dict[str, Any],
        block: bool,
        note: str,
        tags: list[dict[str, str]] | None = None,
    ) -> None:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=encryption)
        if block:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=BLOCK_ALL)
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
        estate.planted[name] = note

    bucket(
        "aiw-models-kms",
        _sse("aws:kms", key_arn),
        True,
        "compliant: SSE-KMS, public access blocked",
    )
    bucket("aiw-datasets-plain", _sse("AES256"), True, "drift: SSE-S3 only")
    bucket("aiw-public-share", _sse("AES256"), False, "drift: public policy, no Block Public Access")
    s3.put_bucket_policy(
        Bucket="aiw-public-share",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "PublicRead",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::aiw-public-share/*",
                    }
                ],
            }
        ),
    )
    bucket(
        "aiw-scratch-exempt",
        _sse("AES256"),
        True,
        "exempt: SSE-S3 but tagged aiwarden:exempt=true",
        EXEMPT,
    )

    image = f"763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-inference:2.3.0-cpu-py311"
    for model, bucket_name in (("fraud-v3", "aiw-models-kms"), ("churn-v1", "aiw-datasets-plain")):
        sm.create_model(
            ModelName=model,
            PrimaryContainer={
                "Image": image,
                "ModelDataUrl": f"s3://{bucket_name}/{model}/model.tar.gz",
            },
            ExecutionRoleArn=role_arn,
        )
    estate.planted["fraud-v3"] = "compliant: artifacts in the KMS bucket"
    estate.planted["churn-v1"] = "drift: artifacts in the SSE-S3 bucket"

    variant = {
        "VariantName": "AllTraffic",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 2,
    }
    sm.create_endpoint_config(
        EndpointConfigName="fraud-v3-config",
        ProductionVariants=[{**variant, "ModelName": "fraud-v3"}],
        KmsKeyId=key_arn,
    )
    sm.create_endpoint_config(
        EndpointConfigName="churn-v1-config",
        ProductionVariants=[{**variant, "ModelName": "churn-v1"}],
    )
    estate.planted["fraud-v3-config"] = "compliant: KmsKeyId set"
    estate.planted["churn-v1-config"] = "drift: no KmsKeyId"

    notebook = {"InstanceType": "ml.t3.medium", "RoleArn": role_arn}
    sm.create_notebook_instance(
        NotebookInstanceName="research-locked",
        DirectInternetAccess="Disabled",
        SubnetId="subnet-0a1b2c3d",
        SecurityGroupIds=["sg-0a1b2c3d"],
        KmsKeyId=key_arn,
        **notebook,
    )
    sm.create_notebook_instance(
        NotebookInstanceName="research-open", DirectInternetAccess="Enabled", **notebook
    )
    estate.planted["research-locked"] = "compliant: in a VPC, no direct internet"
    estate.planted["research-open"] = "drift: direct internet access"

    for user in ("alice", "bob", "ci-bot"):
        iam.create_user(UserName=user)
    iam.create_login_profile(
        UserName="alice", Password="Correct-Horse-Battery-9", PasswordResetRequired=False
    )
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="alice",
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    iam.create_login_profile(UserName="bob", Password="Correct-Horse-Battery-9", PasswordResetRequired=False)
    iam.create_access_key(UserName="ci-bot")
    estate.planted["alice"] = "compliant: console + MFA"
    estate.planted["bob"] = "drift: console without MFA"
    estate.planted["ci-bot"] = "compliant: API keys only"
    return estate
