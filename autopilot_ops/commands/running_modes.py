"""`running-modes [verify]`: the optimiser's monthly report, and its estimate against a cost-and-usage export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import click
from rich.console import Console

from autopilot.adapters.usage_store import UsageStore
from autopilot.domain.cost.running_modes import monthly_report_csv
from autopilot_ops import cur
from autopilot_ops.commands.output import emit, json_option, table
from autopilot_ops.commands.session import current_session
from autopilot_ops.errors import BadInput


@click.group("running-modes", invoke_without_command=True)
@click.option("--month", help="Month of the report (YYYY-MM; default: this month).")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the CSV here.")
@json_option
@click.pass_context
def running_modes(ctx: click.Context, month: str | None, csv_file: Path | None, as_json: bool) -> None:
    """The running-mode optimiser's monthly report: hours against break-even and the decision, per desk."""
    if ctx.invoked_subcommand is not None:
        return
    month = _check_month(month)
    backend = current_session().backend()
    month = month or backend.now().strftime("%Y-%m")
    store = UsageStore(backend.table)
    text = monthly_report_csv(store, month)
    _write_csv(csv_file, text)
    rows = list(csv.DictReader(io.StringIO(text)))

    def render(out: Console) -> None:
        columns = list(rows[0]) if rows else ["workspace_id"]
        out.print(table(f"Running modes {month}", columns, [tuple(row.values()) for row in rows]))

    emit(as_json, {"month": month, "rows": rows}, render)


def _check_month(month: str | None) -> str | None:
    if month is not None:  # checked before any world is built or stack read
        try:
            dt.datetime.strptime(month, "%Y-%m")
        except ValueError as exc:
            raise BadInput(f"--month {month}: use YYYY-MM") from exc
    return month


def _write_csv(csv_file: Path | None, text: str) -> None:
    if csv_file is not None:
        try:
            csv_file.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"{csv_file}: cannot write it: {exc.strerror or exc}") from exc


@running_modes.command("verify")
@click.option(
    "--cur",
    "cur_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A cost-and-usage export (CUR 2.0 columns): CSV, CSV.gz, or Parquet (extra [parquet]).",
)
@click.option("--month", help="Month to compare (YYYY-MM; default: last month).")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the CSV here.")
@json_option
def running_modes_verify(cur_file: Path, month: str | None, csv_file: Path | None, as_json: bool) -> None:
    """The optimiser's billable hours and cost per desk against what the export bills, with the total error."""
    month = _check_month(month)
    rows = cur.read_rows(cur_file)  # checked before any stack is read
    backend = current_session().backend()
    month = month or (backend.now().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    billed = cur.billed_by_desk(rows, month, cur_file)
    store = UsageStore(backend.table)
    ids = sorted(billed | {row.workspace_id: None for row in store.report_rows(month)})
    records = {ws: record for (ws, _), record in store.load(ids, [month]).items()}
    compared, totals = cur.compare(records, billed, backend.policy().optimizer)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(cur.COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(compared)
    _write_csv(csv_file, buffer.getvalue())

    def render(out: Console) -> None:
        table_rows = [tuple("" if row[c] is None else row[c] for c in cur.COLUMNS) for row in compared]
        out.print(table(f"Estimated against billed, {month}", list(cur.COLUMNS), table_rows))
        out.print(
            f"total: {totals['estimated_hours']} h estimated, {totals['billed_hours']} h billed; "
            f"{totals['estimated_cost']:.2f} estimated, {totals['billed_cost']:.2f} billed "
            f"(error {totals['cost_error']})"
        )

    emit(as_json, {"month": month, "rows": compared, "total": totals}, render)
