"""Shared test support (not tests)."""
