"""Roster files: parse a CSV (with a header) or JSON-lines roster, and diff it against the last accepted roster
into Employee Hired / Departed / Transferred events.

Columns (CSV header, or JSON keys) are the fields of Employee Hired, plus an optional `last_day` (the employee
is leaving on that day). A CSV shift is given by `shift_timezone`, `shift_days` (e.g. `mon tue wed`),
`shift_start`, `shift_end`; in JSON lines `shift` is an object. An unknown column refuses the whole file (a
roster cannot choose a bundle, directory, running mode or tag); a bad row is rejected with its line number
and the other rows proceed. Error texts name fields, never values (rows carry names and e-mails).

The accepted roster is kept per employee with what a diff needs and nothing personal: department, role,
site, shift and last day.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from autopilot.contracts.hr import EmployeeDeparted, EmployeeHired, EmployeeTransferred, Shift
from autopilot.domain.kernel.errors import InvalidInput

REQUIRED_COLUMNS = frozenset(
    {"employee_id", "username", "email", "given_name", "family_name", "department", "role", "site", "start_date"}
)
OPTIONAL_COLUMNS = frozenset(
    {"end_date", "manager_id", "cost_center", "last_day", "shift_timezone", "shift_days", "shift_start", "shift_end"}
)
SHIFT_COLUMNS = ("shift_timezone", "shift_days", "shift_start", "shift_end")
_EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_ERRORS_PER_ROW = 5


class RosterEntry(BaseModel):
    """One employee of the accepted roster, as stored (no names, no e-mail, no user name)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    employee_id: str
    department: str
    role: str
    site: str
    shift: Shift | None = None
    last_day: dt.date | None = None


class RosterRecord(EmployeeHired):
    """A roster row: Employee Hired plus an optional last day."""

    last_day: dt.date | None = None


@dataclass(frozen=True)
class RosterRow:
    line: int
    hire: EmployeeHired
    last_day: dt.date | None

    def entry(self) -> RosterEntry:
        return RosterEntry(
            employee_id=self.hire.employee_id,
            department=self.hire.department,
            role=self.hire.role,
            site=self.hire.site,
            shift=self.hire.shift,
            last_day=self.last_day,
        )


@dataclass(frozen=True)
class RejectedRow:
    line: int
    employee_id: str | None
    errors: list[str]


@dataclass
class ParsedRoster:
    rows: list[RosterRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)


@dataclass
class RosterDiff:
    hired: list[EmployeeHired] = field(default_factory=list)
    departed: list[EmployeeDeparted] = field(default_factory=list)
    transferred: list[EmployeeTransferred] = field(default_factory=list)
    upserts: list[RosterEntry] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)


def roster_format(name: str, text: str) -> Literal["csv", "jsonl"]:
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith(".csv"):
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def parse_roster(text: str, *, name: str) -> ParsedRoster:
    """Parse a roster; InvalidInput when the file as a whole cannot be read (empty, bad header)."""
    if not text.strip():
        raise InvalidInput(f"roster {name}: the file is empty")
    parsed = ParsedRoster()
    records = _csv_records(text, name) if roster_format(name, text) == "csv" else _jsonl_records(text)
    first_line: dict[str, int] = {}
    for line, record, problem in records:
        if problem is not None:
            parsed.rejected.append(RejectedRow(line, _readable_id(record), [problem]))
            continue
        try:
            row = RosterRecord.model_validate(record)
        except ValidationError as exc:
            parsed.rejected.append(RejectedRow(line, _readable_id(record), describe_errors(exc)))
            continue
        if row.employee_id in first_line:
            error = f"employee_id: appears again (first at line {first_line[row.employee_id]})"
            parsed.rejected.append(RejectedRow(line, row.employee_id, [error]))
            continue
        first_line[row.employee_id] = line
        hire = EmployeeHired.model_validate(row.model_dump(exclude={"last_day"}))
        parsed.rows.append(RosterRow(line, hire, row.last_day))
    return parsed


def describe_errors(exc: ValidationError) -> list[str]:
    """`field: message` per error, without the offending values (they may be names or e-mail addresses)."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False)[:MAX_ERRORS_PER_ROW]:
        path = ".".join(str(part) for part in error["loc"]) or "(row)"
        lines.append(f"{path}: {error['msg'].removeprefix('Value error, ')}")
    return lines


def _readable_id(record: Mapping[str, Any] | None) -> str | None:
    value = record.get("employee_id") if record else None
    return value.strip() if isinstance(value, str) and _EMPLOYEE_ID.match(value.strip()) else None


RecordStream = list[tuple[int, dict[str, Any] | None, str | None]]


def _csv_records(text: str, name: str) -> RecordStream:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [column.strip() for column in (reader.fieldnames or [])]
    missing = sorted(REQUIRED_COLUMNS - set(header))
    unknown = sorted(set(header) - REQUIRED_COLUMNS - OPTIONAL_COLUMNS)
    if missing or unknown:
        wrong_delimiter = _wrong_delimiter(header)
        if wrong_delimiter:
            raise InvalidInput(f"roster {name}: bad header: {wrong_delimiter}")
        problems = ([f"missing columns: {', '.join(missing)}"] if missing else []) + (
            [f"unknown columns (refused): {', '.join(unknown)}"] if unknown else []
        )
        raise InvalidInput(f"roster {name}: bad header: {'; '.join(problems)}")
    reader.fieldnames = header
    records: RecordStream = []
    for raw in reader:
        line = reader.line_num
        if None in raw:
            records.append((line, _strip(raw), "row: more values than columns"))
            continue
        record = _strip(raw)
        if any(column in record for column in SHIFT_COLUMNS):
            days = re.split(r"[\s,;|]+", str(record.pop("shift_days", "")).strip())
            record["shift"] = {
                "timezone": record.pop("shift_timezone", None),
                "days": [day.lower() for day in days if day],
                "start": record.pop("shift_start", None),
                "end": record.pop("shift_end", None),
            }
        records.append((line, record, None))
    return records


_DELIMITERS = {";": "a semicolon (what Excel writes as CSV in French and other locales)", "\t": "a tab", "|": "a pipe"}


def _wrong_delimiter(header: list[str]) -> str | None:
    """A header read as one column that splits into ours on another delimiter: say which one, and the fix."""
    if len(header) != 1:
        return None
    for delimiter, described in _DELIMITERS.items():
        columns = {column.strip() for column in header[0].split(delimiter)}
        if len(columns) > 1 and columns & REQUIRED_COLUMNS:
            return (
                f"the delimiter is {described}, not a comma; export the file again as CSV with commas "
                '(in Excel: "CSV UTF-8 (Comma delimited)"), or as JSON lines'
            )
    return None


def _strip(raw: Mapping[str | None, Any]) -> dict[str, Any]:
    """Blank cells are absent fields."""
    return {
        str(key): value.strip()
        for key, value in raw.items()
        if key is not None and isinstance(value, str) and value.strip()
    }


def _jsonl_records(text: str) -> RecordStream:
    records: RecordStream = []
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            record = json.loads(content)
        except json.JSONDecodeError as exc:
            records.append((line, None, f"row: not a JSON object ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(record, dict):
            records.append((line, None, "row: not a JSON object"))
            continue
        records.append((line, record, None))
    return records


def diff_roster(previous: Mapping[str, RosterEntry], parsed: ParsedRoster, *, feed_date: dt.date) -> RosterDiff:
    """What changed since the last accepted roster.

    - a new employee (or one back after leaving) -> Hired; a new row that is already past its last day is
      only remembered;
    - a last day that appears or changes -> Departed on that day;
    - department, role, site or shift changed -> Transferred, effective on the feed's date;
    - an employee missing from the roster -> Departed, last day = the feed's date. An employee whose row was
      rejected but whose id could be read is not missing: nothing changes for them.
    """
    diff = RosterDiff()
    present = {row.hire.employee_id: row for row in parsed.rows}
    unreadable = {row.employee_id for row in parsed.rejected if row.employee_id} - present.keys()
    for employee_id in sorted(present):
        row = present[employee_id]
        entry = row.entry()
        before = previous.get(employee_id)
        if before is None or (before.last_day is not None and row.last_day is None):
            if row.last_day is not None and row.last_day < feed_date:
                diff.upserts.append(entry)  # gone before we ever saw them: nothing to provision
                continue
            diff.hired.append(row.hire)
            # A leaving date on a first row is sent with the next roster, once the hire has been applied.
            diff.upserts.append(entry.model_copy(update={"last_day": None}))
            continue
        if row.last_day is not None and row.last_day != before.last_day:
            diff.departed.append(EmployeeDeparted(employee_id=employee_id, last_day=row.last_day))
        if (entry.department, entry.role, entry.site, entry.shift) != (
            before.department,
            before.role,
            before.site,
            before.shift,
        ):
            diff.transferred.append(
                EmployeeTransferred(
                    employee_id=employee_id,
                    department=entry.department,
                    role=entry.role,
                    site=entry.site,
                    effective_date=feed_date,
                    shift=entry.shift,
                )
            )
        if entry != before:
            diff.upserts.append(entry)
    for employee_id in sorted(previous):
        if employee_id in present or employee_id in unreadable:
            continue
        if previous[employee_id].last_day is None:
            diff.departed.append(EmployeeDeparted(employee_id=employee_id, last_day=feed_date))
        diff.deletes.append(employee_id)
    return diff
