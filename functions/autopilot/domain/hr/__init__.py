"""HR: hires, departures, transfers, the roster feed and its hold, provisioning to READY, the welcome e-mail."""
