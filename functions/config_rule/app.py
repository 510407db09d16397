"""Lambda entry point for AWS Config custom-rule invocations: evaluates the resource Config names
with the rule's practice's checks and answers with PutEvaluations, so the Config dashboard shows
AI Warden's verdicts. All logic lives in the aiwarden layer."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import utils
from aws_lambda_powertools.utilities.typing import LambdaContext

from aiwarden.engine import Runtime, handle_config_rule

logger = Logger()
utils.copy_config_to_registered_loggers(source_logger=logger, include={"aiwarden"})
RUNTIME = Runtime.from_env()


@logger.inject_lambda_context(correlation_id_path="resultToken", clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_config_rule(event, RUNTIME)
