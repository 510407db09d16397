"""Lambda entry point for the sweep's work items (SQS, partial-batch responses): each item is up
to 25 resources of one type, evaluated, remediated and alerted on like an event. All logic lives
in the aiwarden layer."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import utils
from aws_lambda_powertools.utilities.typing import LambdaContext

from aiwarden import sweep
from aiwarden.engine import Runtime

logger = Logger()
utils.copy_config_to_registered_loggers(source_logger=logger, include={"aiwarden"})
RUNTIME = Runtime.from_env()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return sweep.handle_batch(event, RUNTIME)
