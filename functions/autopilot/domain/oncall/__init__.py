"""On-call: every capability's events and the automation's alarms as alerts on one topic."""
