"""Developer tools: the static gates, template rules and exporters that `make` runs. Never deployed."""
