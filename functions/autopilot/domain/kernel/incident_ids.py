"""Incident ids more than one capability reads: pre-warm names the starts that needed a human, on-call tells
them apart from the incident store's ids."""

from __future__ import annotations

START_INCIDENT_PREFIX = "inc-start-"  # a pre-warm start that needed a human (not in the incident store)
