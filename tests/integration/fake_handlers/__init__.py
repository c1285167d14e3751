"""Tiny handlers for the local cloud's own tests (tests/integration/world_template.yaml points at them)."""
