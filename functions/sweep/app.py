"""Lambda entry point for the scheduled sweep: lists every resource of every checked type and
queues the work for SweepWorkerFunction (fan-out on SQS), so no single invocation has to evaluate
the whole account. Without a queue (AIWARDEN_SWEEP_QUEUE_URL unset) it evaluates in place. All
logic lives in the aiwarden layer."""

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import utils
from aws_lambda_powertools.logging.correlation_paths import EVENT_BRIDGE
from aws_lambda_powertools.utilities.typing import LambdaContext

from aiwarden import sweep, telemetry
from aiwarden.engine import Runtime, handle

logger = Logger()
metrics = Metrics(namespace=telemetry.NAMESPACE)
utils.copy_config_to_registered_loggers(source_logger=logger, include={"aiwarden"})
RUNTIME = Runtime.from_env()


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=EVENT_BRIDGE, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    queue_url = os.environ.get(sweep.QUEUE_ENV)
    if queue_url:
        return sweep.handle_schedule(event, RUNTIME, queue_url)
    summary = handle(event, RUNTIME)
    telemetry.record(summary, metrics)
    return summary
