"""Benchmarks of WorkSpaces Autopilot on the local cloud: AWS calls against the floor the APIs' batch limits allow,
beside the naive way, and cold starts beside a bare Powertools handler. `python -m bench` (docs/performance.md)."""
