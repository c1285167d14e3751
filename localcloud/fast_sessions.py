"""One botocore data loader for every session while the local cloud runs.

Each function builds its clients from a new `boto3.session.Session()` (functions/autopilot/adapters/aws.py), and
each session gets its own botocore `Loader`, which reads and parses every JSON file it is asked for (the service
model, its paginators and waiters, endpoints.json, the partition and ruleset files) once per session. In Lambda
that is paid at a cold start; in the local cloud every world is a fleet of cold starts, and a world's sessions
(its own, and each function's clients) parsed the same files again: about 0.05-0.1 s of CPU a world, a tenth to a
fifth of a small world's cost (docs/performance.md, "Fifth pass").

While installed, `botocore.session.create_loader` gives every session the process's one `Loader` for that data
path, whose cache (botocore's own `instance_cache`) then serves every session, as it already serves every client
of one session. The data a loader returns is the same files parsed the same way; botocore shares it read-only
between the clients of a session, so sharing it between sessions changes nothing a client does.
tests/integration/test_fast_sessions.py checks that clients built either way have equal models and answer alike.

Installed with the world's other hooks; `LOCALCLOUD_FAST=0` keeps a loader per session (the baseline).
"""

from __future__ import annotations

import threading

import botocore.session
from botocore.loaders import Loader, create_loader

from localcloud import fast_json

_loaders: dict[str | None, Loader] = {}
_lock = threading.Lock()


def shared_loader(search_path_string: str | None = None) -> Loader:
    """The process's loader for this data path (AWS_DATA_PATH), made on first use."""
    with _lock:
        loader = _loaders.get(search_path_string)
        if loader is None:
            loader = _loaders[search_path_string] = create_loader(search_path_string)
        return loader


def _install() -> None:
    botocore.session.create_loader = shared_loader


def _uninstall() -> None:
    botocore.session.create_loader = create_loader


installed = fast_json.counted_patch(_install, _uninstall)
