"""Powertools logger, tracer and metrics shared by every handler (service name and namespace come from the
template's environment). Logs carry ids only: incoming events are never logged."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
