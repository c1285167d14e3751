"""Powertools idempotency for HR events: the persistence layer on the idempotency table and the config.

The key is the business key (detail-type + employee id), not the EventBridge envelope id: an HR system that
retries PutEvents sends a new envelope. For Employee Hired the policy-relevant fields are validated, so the
same employee with a changed payload raises IdempotencyValidationError (flagged, never answered from the
cache). Departures and transfers put their fields in the key: only exact duplicates are short-circuited, and
the domain (desk record, event time) decides what a changed one means. Records hold ids only.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

from autopilot.adapters.aws import RETRY_CONFIG

KEY_JMESPATH = "key"
VALIDATION_JMESPATH = "fields"
# Long enough to absorb Lambda's async retries and a producer's quick resend; the desk record (with the HR
# event time) is what makes later duplicates and replays converge.
EXPIRES_AFTER_SECONDS = 3600


def persistence_layer(table_name: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=table_name, boto_config=RETRY_CONFIG)


def idempotency_config() -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath=KEY_JMESPATH,
        payload_validation_jmespath=VALIDATION_JMESPATH,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
    )
