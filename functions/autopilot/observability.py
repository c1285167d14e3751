"""Powertools logger, tracer and metrics shared by every handler (service name and namespace come from the
template's environment). Logs carry ids only: incoming events are never logged."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "workspaces-autopilot")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "WorkSpacesAutopilot")

# Explicit defaults: a module imported before the environment is set (tests, the local cloud) still gets a
# namespace, so flushing metrics never fails on a missing one.
logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
