"""A small AI estate with planted drift, created with real boto3 calls (against moto).

Everything is built the way a careful team would build it (account baseline, encrypted and logged
buckets, VPC-bound SageMaker resources), except the drift planted on purpose, so a scan with every
check must find exactly the planted drift: ``PLANTED_FAILURES`` is that contract, and a test holds
the demo to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EXEMPT = {"aiwarden:exempt": "true"}
CONFIG_SERVICE_ROLE = "config.amazonaws.com/AWSServiceRoleForConfig"
SUBNETS = ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]
SECURITY_GROUPS = ["sg-0a1b2c3d"]
ROLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}

# (check id, resource id) pairs a full scan of the estate must FAIL, and nothing else.
PLANTED_FAILURES = {
    ("s3_bucket_default_encryption_kms", "aiw-datasets-plain"),
    ("s3_bucket_public_access_blocked", "aiw-public-share"),
    ("sagemaker_model_artifacts_encrypted", "churn-v1"),
    ("sagemaker_endpoint_config_kms_encrypted", "churn-v1-config"),
    ("sagemaker_notebook_direct_internet_access_disabled", "research-open"),
    # An internet-facing notebook runs outside a VPC: the same drift, seen by the VPC check.
    ("sagemaker_notebook_in_vpc", "research-open"),
    ("iam_user_console_mfa_enabled", "bob"),
}

# Checks moto cannot answer truthfully, left out of the demo's scan (each is tested with
# botocore's Stubber on real response shapes instead): moto reports no root MFA, drops a model's
# EnableNetworkIsolation and a notebook's PlatformIdentifier, and implements neither Bedrock
# guardrails nor SageMaker monitoring schedules.
NO_SCHEDULES = "moto does not implement monitoring schedules"
MOTO_BLIND_CHECKS = {
    "iam_root_mfa_enabled": "moto always reports the root user without MFA",
    "sagemaker_model_network_isolation_enabled": "moto's DescribeModel drops EnableNetworkIsolation",
    "sagemaker_notebook_platform_supported": "moto does not keep a notebook's PlatformIdentifier",
    "bedrock_guardrail_sensitive_filters_configured": "moto does not implement Bedrock guardrails",
    "sagemaker_monitoring_schedule_network_isolation_enabled": NO_SCHEDULES,
    "sagemaker_monitoring_schedule_intercontainer_encryption_enabled": NO_SCHEDULES,
}


@dataclass
class Estate:
    account: str
    region: str
    kms_key_arn: str
    role_arn: str
    # resource id -> what was planted, so the demo (and tests) can say what to expect
    planted: dict[str, str] = field(default_factory=dict)


def _sse(key: str | None) -> dict[str, Any]:
    default: dict[str, Any] = (
        {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key} if key else {"SSEAlgorithm": "AES256"}
    )
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bool(key)}]}


def _deny_insecure_transport(bucket: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def baseline(clients: Callable[[str], Any], account: str, region: str, key_arn: str) -> None:
    """The account settings every check of the guide expects: trail, Config, GuardDuty,
    Inspector, Bedrock invocation logging, a CIS password policy."""
    s3 = clients("s3")
    for bucket in ("aiw-audit-trail", "aiw-access-logs"):
        # Log destinations: S3 server access logging cannot deliver to SSE-KMS buckets, so these
        # keep SSE-S3 and carry the exemption tag, as a team would document that exception.
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=_sse(None))
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=BLOCK_ALL)
        s3.put_bucket_tagging(
            Bucket=bucket, Tagging={"TagSet": _tags({**EXEMPT, "aiwarden:exempt-reason": "log destination"})}
        )
        service = "logging.s3.amazonaws.com" if bucket == "aiw-access-logs" else "cloudtrail.amazonaws.com"
        delivery = {
            "Sid": "LogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }
        policy = {"Version": "2012-10-17", "Statement": [delivery, _deny_insecure_transport(bucket)]}
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    trail = clients("cloudtrail")
    trail.create_trail(
        Name="org-audit",
        S3BucketName="aiw-audit-trail",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=key_arn,
        IncludeGlobalServiceEvents=True,
    )
    trail.put_event_selectors(
        TrailName="org-audit",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
            }
        ],
    )
    trail.start_logging(Name="org-audit")
    config = clients("config")
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{account}:role/aws-service-role/{CONFIG_SERVICE_ROLE}",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "aiw-audit-trail"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    clients("guardduty").create_detector(Enable=True, DataSources={"S3Logs": {"Enable": True}})
    clients("inspector2").enable(accountIds=[account], resourceTypes=["ECR"])
    clients("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "s3Config": {"bucketName": "aiw-audit-trail", "keyPrefix": "bedrock"},
            "textDataDeliveryEnabled": True,
        }
    )
    clients("iam").update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True,
        MaxPasswordAge=90,
        PasswordReusePrevention=24,
    )


def seed(clients: Callable[[str], Any], account: str, region: str) -> Estate:
    """Create the demo estate; ``clients(service)`` returns a boto3 client for the endpoint."""
    s3, sm, iam, kms = clients("s3"), clients("sagemaker"), clients("iam"), clients("kms")
    key_arn = kms.create_key(Description="ai-models")["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key_arn)
    role_arn = iam.create_role(
        RoleName="SageMakerExecution", AssumeRolePolicyDocument=json.dumps(ROLE_TRUST)
    )["Role"]["Arn"]
    estate = Estate(account=account, region=region, kms_key_arn=key_arn, role_arn=role_arn)
    baseline(clients, account, region, key_arn)

    def bucket(
        name: str,
        note: str,
        *,
        kms: bool = True,
        block: bool = True,
        tags: dict[str, str] | None = None,
        public_read: bool = False,
    ) -> None:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration=_sse(key_arn if kms else None)
        )
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_logging(
            Bucket=name,
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": "aiw-access-logs", "TargetPrefix": f"{name}/"}
            },
        )
        statements = [_deny_insecure_transport(name)]
        if public_read:
            statements.append(
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{name}/*",
                }
            )
        s3.put_bucket_policy(
            Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements})
        )
        if block:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=BLOCK_ALL)
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(tags)})
        estate.planted[name] = note

    bucket(
        "aiw-models-kms",
        "compliant: SSE-KMS (customer key), public access blocked, TLS-only, logged, versioned",
        tags={"DataClassification": "confidential"},
    )
    bucket(
        "aiw-datasets-plain",
        "drift: SSE-S3 default encryption, not KMS",
        kms=False,
        tags={"DataClassification": "internal"},
    )
    bucket(
        "aiw-public-share", "drift: public-read policy, no Block Public Access", block=False, public_read=True
    )
    bucket("aiw-scratch-exempt", "exempt: SSE-S3 but tagged aiwarden:exempt=true", kms=False, tags=EXEMPT)

    image = f"763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-inference:2.3.0-cpu-py311"
    for model, bucket_name in (("fraud-v3", "aiw-models-kms"), ("churn-v1", "aiw-datasets-plain")):
        sm.create_model(
            ModelName=model,
            PrimaryContainer={"Image": image, "ModelDataUrl": f"s3://{bucket_name}/{model}/model.tar.gz"},
            ExecutionRoleArn=role_arn,
            VpcConfig={"SecurityGroupIds": SECURITY_GROUPS, "Subnets": SUBNETS},
            EnableNetworkIsolation=True,
        )
    estate.planted["fraud-v3"] = "compliant: artifacts in the KMS bucket, in a VPC, network isolated"
    estate.planted["churn-v1"] = "drift: artifacts in the SSE-S3 bucket"

    variant = {"VariantName": "AllTraffic", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}
    sm.create_endpoint_config(
        EndpointConfigName="fraud-v3-config",
        ProductionVariants=[{**variant, "ModelName": "fraud-v3"}],
        KmsKeyId=key_arn,
    )
    sm.create_endpoint_config(
        EndpointConfigName="churn-v1-config", ProductionVariants=[{**variant, "ModelName": "churn-v1"}]
    )
    sm.create_endpoint(EndpointName="fraud-v3", EndpointConfigName="fraud-v3-config")
    estate.planted["fraud-v3 (endpoint)"] = "compliant: serves fraud-v3 from the KMS bucket (AI lineage)"
    estate.planted["fraud-v3-config"] = "compliant: KmsKeyId set, two instances"
    estate.planted["churn-v1-config"] = "drift: no KmsKeyId"

    notebook = {
        "InstanceType": "ml.t3.medium",
        "RoleArn": role_arn,
        "KmsKeyId": key_arn,
        "RootAccess": "Disabled",
    }
    sm.create_notebook_instance(
        NotebookInstanceName="research-locked",
        DirectInternetAccess="Disabled",
        SubnetId=SUBNETS[0],
        SecurityGroupIds=SECURITY_GROUPS,
        **notebook,
    )
    sm.create_notebook_instance(
        NotebookInstanceName="research-open", DirectInternetAccess="Enabled", **notebook
    )
    estate.planted["research-locked"] = "compliant: in a VPC, no direct internet, no root, KMS volume"
    estate.planted["research-open"] = "drift: direct internet access (so outside a VPC)"

    for user in ("alice", "bob", "ci-bot"):
        iam.create_user(UserName=user)
    iam.create_login_profile(
        UserName="alice", Password="Correct-Horse-Battery-9", PasswordResetRequired=False
    )
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="alice", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    iam.create_login_profile(UserName="bob", Password="Correct-Horse-Battery-9", PasswordResetRequired=False)
    iam.create_access_key(UserName="ci-bot")
    estate.planted["alice"] = "compliant: console + MFA"
    estate.planted["bob"] = "drift: console without MFA"
    estate.planted["ci-bot"] = "compliant: API keys only"
    return estate
