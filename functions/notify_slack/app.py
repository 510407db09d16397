"""Lambda entry point subscribed to the alert topic: posts each alert to Slack.

A thin adapter: Powertools for structured logs with the SNS message id as correlation id, then
aiwarden.slack. The webhook URL comes from the Secrets Manager secret SLACK_WEBHOOK_SECRET_ARN.
"""

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import utils
from aws_lambda_powertools.utilities.typing import LambdaContext

from aiwarden.clients import client
from aiwarden.slack import handle_sns_event

logger = Logger()
utils.copy_config_to_registered_loggers(source_logger=logger, include={"aiwarden"})
SNS_MESSAGE_ID = "Records[0].Sns.MessageId"


@logger.inject_lambda_context(correlation_id_path=SNS_MESSAGE_ID, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The client factory builds the client on first use and reuses it while the container is warm.
    secrets = client("secretsmanager", os.environ["AWS_REGION"], None, None)
    return handle_sns_event(event, secrets, os.environ["SLACK_WEBHOOK_SECRET_ARN"])
