"""Incidents: triage of connection failures, the guarded runbook, escalation, resolution by login, directory alarms."""
