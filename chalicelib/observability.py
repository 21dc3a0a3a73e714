"""The one Logger and the one Metrics object (powertools)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.settings import get_settings

logger = Logger(service="campus-crm")
metrics = Metrics(namespace=get_settings().metrics_namespace, service="campus-crm")

__all__ = ["logger", "metrics", "MetricUnit", "count"]


def count(name: str, value: int = 1) -> None:
    """A business metric (PascalCase name), flushed at the end of the invocation."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
