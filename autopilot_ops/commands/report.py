"""`report --html FILE`: the fleet report, one self-contained HTML page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from rich.markup import escape

from autopilot_ops import records, report_data, report_html
from autopilot_ops.commands.output import emit, json_option
from autopilot_ops.commands.session import current_session
from autopilot_ops.errors import BadInput


@click.command()
@click.option(
    "--html",
    "html_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to this file.",
)
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 400), help="Period covered, up to now.")
@click.option("--month", help="Month of the AutoStop usage chart (YYYY-MM; default: this month).")
@json_option
def report(html_file: Path, days: int, month: str | None, as_json: bool) -> None:
    """The fleet report: one self-contained HTML page with charts (readable offline)."""
    if month is not None:
        try:
            dt.datetime.strptime(month, "%Y-%m")
        except ValueError as exc:
            raise BadInput(f"--month {month}: use YYYY-MM") from exc
    session = current_session()
    backend = session.backend()
    session.progress("reading the state table")
    snapshot = records.scan(backend.table, progress=session.progress)
    policy = backend.policy()
    data = report_data.build(
        snapshot, now=backend.now(), days=days, unused_days=policy.usage.unused_days, source=backend.label, month=month
    )
    page = report_html.render(data)
    try:
        html_file.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{html_file}: cannot write it: {exc.strerror or exc}") from exc
    session.progress(f"wrote {html_file} ({len(page) // 1024} KiB, {snapshot.items} items read)")
    summary = {"file": str(html_file), **data.as_dict()}
    emit(as_json, summary, lambda out: out.print(f"Fleet report written to {escape(str(html_file))}"))
