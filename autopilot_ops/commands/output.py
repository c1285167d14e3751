"""How every command prints: one JSON document with --json, rich tables otherwise (ids never cut)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autopilot_ops.commands.session import current_session

PROG = "autopilot"
STATE_STYLES = {
    "READY": "green",
    "AVAILABLE": "green",
    "PROVISIONING": "yellow",
    "SCHEDULED": "magenta",
    "LEAVING": "cyan",
    "STOPPED": "blue",
    "FAILED": "bold red",
    "OPEN": "red",
    "RESOLVED": "green",
}
# Columns shown whole, never cut with an ellipsis or wrapped: ids an operator copies into the next command.
ID_COLUMNS = frozenset({"incident", "feed", "workspace", "employee", "desk/directory", "user"})
_MOMENT = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]00:00)?$")


def json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(function)


def emit(as_json: bool, data: Any, render: Callable[[Console], None]) -> None:
    session = current_session()
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        render(session.out)


def styled(value: object) -> str:
    text = "" if value is None else str(value)
    moment = _MOMENT.match(text)
    if moment:  # tables show minutes, UTC; --json keeps the full time
        text = f"{moment[1]} {moment[2]}"
    style = STATE_STYLES.get(text)
    return f"[{style}]{escape(text)}[/{style}]" if style else escape(text)


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    shown = Table(title=title, title_justify="left", header_style="bold")
    for index, column in enumerate(columns):
        if column in ID_COLUMNS:
            longest = max([len(column), *(len(str(row[index] or "")) for row in rows)])
            shown.add_column(column, no_wrap=True, min_width=longest)
        else:
            shown.add_column(column)
    for row in rows:
        shown.add_row(*[styled(value) for value in row])
    return shown
