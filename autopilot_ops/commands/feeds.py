"""`feed held|release|discard`: roster feeds held for a person (a mass departure)."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape

from autopilot_ops import feeds
from autopilot_ops.commands.output import emit, json_option, styled, table
from autopilot_ops.commands.session import current_session
from autopilot_ops.errors import BadInput

FEED_COLUMNS = ["feed", "status", "file", "received", "hires", "departures", "transfers", "rejected lines", "reason"]


@click.group()
def feed() -> None:
    """Roster feeds held for approval (a mass departure)."""


def _feed_row(f: dict[str, Any]) -> tuple[object, ...]:
    rejected = ", ".join(str(line) for line in f["rejected_lines"])
    return (
        f["feed_id"],
        f["status"],
        f["file"],
        f["received_at"],
        f["hires"],
        f["departures"],
        f["transfers"],
        rejected,
        f.get("reason") or "",
    )


@feed.command("held")
@json_option
def feed_held(as_json: bool) -> None:
    """Feeds waiting for a person: held (release or discard each) and rejected in the last 7 days (resend)."""
    session = current_session()
    rows = feeds.held(session.backend(), session.progress)
    emit(
        as_json,
        rows,
        lambda out: out.print(table(f"{len(rows)} held feeds", FEED_COLUMNS, [_feed_row(f) for f in rows])),
    )


def _confirm(yes: bool, question: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise BadInput(f"{question}: add --yes to confirm")
    if not click.confirm(question, default=False, err=True):
        raise click.Abort()


@feed.command("release")
@click.argument("feed_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def feed_release(feed_id: str, yes: bool, as_json: bool) -> None:
    """Accept a held feed: its hires, departures and transfers go ahead now."""
    _confirm(yes, f"release {feed_id}: its departures stop and later terminate desks")
    data = feeds.release(current_session().backend(), feed_id)
    emit(
        as_json,
        data,
        lambda out: out.print(
            f"{escape(data['feed_id'])} {styled(data['status'])}: {data['hires']} hires, "
            f"{data['departures']} departures, "
            f"{data['transfers']} transfers published"
            + (f"  [yellow]{escape(data['warning'])}[/yellow]" if data.get("warning") else "")
        ),
    )


@feed.command("discard")
@click.argument("feed_id")
@json_option
def feed_discard(feed_id: str, as_json: bool) -> None:
    """Throw a held feed away: nothing happens, the accepted roster stays as it was."""
    data = feeds.discard(current_session().backend(), feed_id)
    emit(
        as_json,
        data,
        lambda out: out.print(f"{escape(data['feed_id'])} {styled(data['status'])}: nothing was published"),
    )
