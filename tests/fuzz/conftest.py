"""The fuzz tier: hypothesis on every input contract (pure) and on every handler (on the local cloud). Each test
carries its own settings (a modest, deterministic number of examples, no deadline): nothing here changes the
hypothesis profile of the other tiers."""

from __future__ import annotations

# Powertools' Tracer imports the X-Ray SDK, whose recorder creates a UDP socket object at import (no traffic):
# import it before any test that blocks sockets.
import aws_xray_sdk.core  # noqa: F401
