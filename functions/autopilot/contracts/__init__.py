"""Pydantic models of every event in and out (the full list is in catalogue.py).

Nothing is imported here: a handler loads only the contract modules it uses (cold start, docs/performance.md).
"""
