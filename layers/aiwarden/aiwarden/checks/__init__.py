"""Importing this package registers every check (one module per AWS service)."""

from aiwarden.checks import iam, s3, sagemaker

__all__ = ["iam", "s3", "sagemaker"]
