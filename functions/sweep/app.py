"""Lambda entry point for the scheduled sweep: every check over every resource, the safety net
for events AWS delivers on a best-effort basis. All logic lives in the aiwarden layer."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import utils
from aws_lambda_powertools.logging.correlation_paths import EVENT_BRIDGE
from aws_lambda_powertools.utilities.typing import LambdaContext

from aiwarden import telemetry
from aiwarden.engine import Runtime, handle

logger = Logger()
metrics = Metrics(namespace=telemetry.NAMESPACE)
utils.copy_config_to_registered_loggers(source_logger=logger, include={"aiwarden"})
RUNTIME = Runtime.from_env()


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=EVENT_BRIDGE, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = handle(event, RUNTIME)
    telemetry.record(summary, metrics)
    return summary
