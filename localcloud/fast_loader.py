"""botocore's list of available services, made once per world instead of once per session.

Every boto3 session has its own botocore `Loader`, and the first client or resource of each lists the services
its data directories hold (`Loader.list_available_services`, botocore/loaders.py: a directory listing of every
service and a file check per API version, about 1,500 `stat` calls for one type of file). The functions make
a new session per composition, so a small world listed the same directories about 24 times, a fifth of its
fixed cost (cProfile, docs/performance.md). The listing depends only on the directories searched, the file
loader and the type of file asked for, and a world changes none of them: it is kept per (directories, file
loader, type) while the world runs, and each caller gets its own copy of the list. The models themselves are
still loaded by each session's loader (botocore rewrites some of them in place: docs/performance.md, "Tried and
not kept"). `LOCALCLOUD_FAST=0` keeps botocore's own.
"""

from __future__ import annotations

from typing import Any

from botocore.loaders import Loader

from localcloud import fast_json

_original_list_available_services = Loader.list_available_services
_listed: dict[tuple[Any, ...], list[str]] = {}


def _list_available_services(self: Loader, type_name: str) -> list[str]:
    key = (tuple(self.search_paths), type(self.file_loader), type_name)
    names = _listed.get(key)
    if names is None:
        names = _listed[key] = list(_original_list_available_services(self, type_name))
    return list(names)


def _install() -> None:
    Loader.list_available_services = _list_available_services  # type: ignore[method-assign]


def _uninstall() -> None:
    Loader.list_available_services = _original_list_available_services  # type: ignore[method-assign]
    _listed.clear()


# The listing kept while the block runs (nested uses are counted); yields whether it is on.
installed = fast_json.counted_patch(_install, _uninstall)
