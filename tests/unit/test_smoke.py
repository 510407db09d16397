from aiwarden.model import Status
from tests.conftest import load_event
from tests.unit.helpers import check_finding


def test_bucket_without_kms_fails(aws):
    aws.client("s3").create_bucket(Bucket="aiw-datasets-plain")
    finding = check_finding("s3_bucket_default_encryption_kms", "aiw-datasets-plain", aws)
    assert finding.status is Status.FAIL
    assert load_event("cloudtrail/s3_create_bucket.json")["detail"]["eventName"] == "CreateBucket"
