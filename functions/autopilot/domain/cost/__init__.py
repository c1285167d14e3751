"""Cost: usage metering and the running-modes optimiser."""
