"""Roster parsing and diff (domain/hr/roster.py), and the feed's hold / release / discard (domain/hr/feed_hold.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from autopilot.domain.hr.feed_hold import FeedSource, discard_feed, ingest_feed, release_feed
from autopilot.domain.hr.feed_record import FeedStatus
from autopilot.domain.hr.roster import RosterEntry, diff_roster, parse_roster
from autopilot.domain.kernel.errors import InvalidInput
from tests.unit.fakes_onboarding import NOW, World, policy

pytestmark = pytest.mark.usefixtures("socket_disabled")
HEADER = "employee_id,username,email,given_name,family_name,department,role,site,start_date,last_day"


def _row(employee_id: str, department: str = "finance", role: str = "accountant", last_day: str = "") -> str:
    person = f"{employee_id},u{employee_id},{employee_id}@example.com,Ada,Byron"
    return f"{person},{department},{role},paris-hq,2026-12-10,{last_day}"


def _csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def test_a_csv_roster_is_parsed_with_shifts() -> None:
    text = (
        _csv(
            _row("e-1"),
            header=HEADER,
        )
        .replace(HEADER, HEADER + ",shift_timezone,shift_days,shift_start,shift_end")
        .replace("2026-12-10,\n", "2026-12-10,,Europe/Paris,mon tue wed,08:00,16:00\n")
    )

    parsed = parse_roster(text, name="roster.csv")

    assert parsed.rejected == []
    [row] = parsed.rows
    assert (row.line, row.hire.employee_id, row.hire.site) == (2, "e-1", "paris-hq")
    assert row.hire.shift is not None
    assert row.hire.shift.days == ["mon", "tue", "wed"]


def test_a_json_lines_roster_is_parsed() -> None:
    record = {
        "employee_id": "e-1",
        "username": "ue1",
        "email": "e1@example.com",
        "given_name": "Ada",
        "family_name": "Byron",
        "department": "finance",
        "role": "accountant",
        "site": "paris-hq",
        "start_date": "2026-12-10",
        "last_day": "2026-12-31",
    }

    parsed = parse_roster(json.dumps(record) + "\n\n" + json.dumps(record | {"employee_id": "e-2"}), name="r.jsonl")

    assert [(row.line, row.hire.employee_id, row.last_day) for row in parsed.rows] == [
        (1, "e-1", dt.date(2026, 12, 31)),
        (3, "e-2", dt.date(2026, 12, 31)),
    ]


def test_a_malformed_row_is_rejected_with_its_line_number_and_the_others_proceed() -> None:
    text = _csv(_row("e-1"), _row("e-2").replace("e-2@example.com", "not-an-address"), _row("e-3"))

    parsed = parse_roster(text, name="roster.csv")

    assert [row.hire.employee_id for row in parsed.rows] == ["e-1", "e-3"]
    [rejected] = parsed.rejected
    assert (rejected.line, rejected.employee_id) == (3, "e-2")
    assert rejected.errors[0].startswith("email:")
    assert "not-an-address" not in " ".join(rejected.errors)  # field names, never values


def test_a_roster_column_cannot_choose_a_bundle() -> None:
    with pytest.raises(InvalidInput, match="unknown columns \\(refused\\): bundle_id"):
        parse_roster(_csv(_row("e-1") + ",wsb-evil", header=HEADER + ",bundle_id"), name="roster.csv")


def test_a_json_row_cannot_choose_a_directory() -> None:
    record = json.loads(json.dumps(parse_roster(_csv(_row("e-1")), name="r.csv").rows[0].hire.model_dump(mode="json")))

    parsed = parse_roster(json.dumps(record | {"directory_id": "d-9999999999"}), name="r.jsonl")

    assert parsed.rows == []
    assert "directory_id: Extra inputs are not permitted" in parsed.rejected[0].errors


def test_a_roster_without_required_columns_is_refused() -> None:
    with pytest.raises(InvalidInput, match="missing columns: department, email, family_name"):
        parse_roster("employee_id,username\ne-1,u\n", name="roster.csv")


def test_a_repeated_employee_is_rejected_at_its_second_line() -> None:
    parsed = parse_roster(_csv(_row("e-1"), _row("e-1")), name="roster.csv")

    assert [row.line for row in parsed.rows] == [2]
    assert parsed.rejected[0].errors == ["employee_id: appears again (first at line 2)"]


def _entry(employee_id: str, **changes: object) -> RosterEntry:
    fields: dict[str, object] = {
        "employee_id": employee_id,
        "department": "finance",
        "role": "accountant",
        "site": "paris-hq",
    }
    return RosterEntry.model_validate(fields | changes)


def test_the_diff_finds_hires_departures_and_transfers() -> None:
    previous = {"e-1": _entry("e-1"), "e-2": _entry("e-2"), "e-3": _entry("e-3"), "e-4": _entry("e-4")}
    text = _csv(_row("e-1"), _row("e-2", role="analyst"), _row("e-4", last_day="2026-12-20"), _row("e-5"))

    diff = diff_roster(previous, parse_roster(text, name="r.csv"), feed_date=dt.date(2026, 12, 1))

    assert [h.employee_id for h in diff.hired] == ["e-5"]
    assert [(t.employee_id, t.role, t.effective_date) for t in diff.transferred] == [
        ("e-2", "analyst", dt.date(2026, 12, 1))
    ]
    assert [(d.employee_id, d.last_day) for d in diff.departed] == [
        ("e-4", dt.date(2026, 12, 20)),
        ("e-3", dt.date(2026, 12, 1)),  # missing from the roster: leaves today
    ]
    assert diff.deletes == ["e-3"]
    assert {entry.employee_id for entry in diff.upserts} == {"e-2", "e-4", "e-5"}


def test_someone_back_after_leaving_is_hired_again() -> None:
    previous = {"e-1": _entry("e-1", last_day=dt.date(2026, 11, 1))}

    diff = diff_roster(previous, parse_roster(_csv(_row("e-1")), name="r.csv"), feed_date=dt.date(2026, 12, 1))

    assert [h.employee_id for h in diff.hired] == ["e-1"]


def test_an_employee_whose_row_was_rejected_is_not_a_departure() -> None:
    previous = {"e-1": _entry("e-1"), "e-2": _entry("e-2")}
    text = _csv(_row("e-1"), _row("e-2").replace("2026-12-10", "tenth of december"))

    diff = diff_roster(previous, parse_roster(text, name="r.csv"), feed_date=dt.date(2026, 12, 1))

    assert diff.departed == []
    assert diff.deletes == []


# --- the feed -------------------------------------------------------------------------------------------
SOURCE = FeedSource(bucket="feed", key="rosters/december.csv", version_id="v1")


def _world_with(text: str, source: FeedSource = SOURCE) -> World:
    world = World()
    world.files.files[(source.bucket, source.key, source.version_id)] = text
    return world


def test_an_accepted_feed_publishes_hr_events_and_becomes_the_roster() -> None:
    world = _world_with(_csv(_row("e-1"), _row("e-2")))

    outcome = ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)

    assert (outcome.status, outcome.hires) == ("ACCEPTED", 2)
    assert world.hr_bus.types() == ["Employee Hired", "Employee Hired"]
    assert {entry["Source"] for entry in world.hr_bus.entries} == {"hr.feed"}
    assert json.loads(world.hr_bus.entries[0]["Detail"])["email"] == "e-1@example.com"
    assert set(world.roster.entries) == {"e-1", "e-2"}
    assert "email" not in world.roster.entries["e-1"].model_dump()


def test_a_redelivered_feed_publishes_nothing_twice() -> None:
    world = _world_with(_csv(_row("e-1")))
    ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)

    again = ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)

    assert again.status == "ACCEPTED"
    assert len(world.hr_bus.entries) == 1


def test_rejected_rows_go_to_the_dead_letter_queue_with_their_line_numbers() -> None:
    world = _world_with(_csv(_row("e-1"), _row("e-2").replace("e-2@example.com", "nope")))

    outcome = ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)

    assert (outcome.hires, outcome.rejected_lines) == (1, [3])
    assert world.rejects is not None
    [message] = world.rejects.bodies
    assert (message["line"], message["employee_id"], message["feed_id"]) == (3, "e-2", SOURCE.feed_id)
    assert "nope" not in json.dumps(message)


def test_without_a_reject_queue_the_invocation_fails_with_the_line_numbers_after_the_good_rows() -> None:
    world = _world_with(_csv(_row("e-1"), "garbage"))
    world.rejects = None

    with pytest.raises(InvalidInput, match="rows rejected at lines 3"):
        ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)
    assert world.hr_bus.types() == ["Employee Hired"]
    with pytest.raises(InvalidInput, match="lines 3"):  # and on Lambda's retries, until it is dead-lettered
        ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)
    assert len(world.hr_bus.entries) == 1


# --- a file refused as a whole: dead-lettered and alerted on every attempt (issue 15) ---------------------
@pytest.mark.parametrize(
    ("text", "fix"),
    [
        (_csv(_row("e-1")).replace(",", ";"), "the delimiter is a semicolon"),
        ("", "the file is empty"),
        (_csv(_row("e-1"), header=HEADER.replace(",site", "")), "missing columns: site"),
    ],
)
def test_a_file_refused_at_the_header_is_dead_lettered_and_alerted_on_every_attempt(text: str, fix: str) -> None:
    world = _world_with(text)

    first = ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)
    again = ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)  # Lambda's retry, or a redelivery

    assert first.status == again.status == "REJECTED"
    assert world.rejects is not None
    [letter] = world.rejects.bodies
    assert (letter["kind"], letter["feed_id"]) == ("roster_rejected", SOURCE.feed_id)
    assert fix in letter["reason"]
    [rejected] = world.bus.of("Feed Rejected")
    assert fix in rejected.reason
    assert world.feeds.items[SOURCE.feed_id].reason == rejected.reason
    assert world.hr_bus.entries == []


def test_a_semicolon_file_is_told_to_be_exported_with_commas() -> None:
    world = _world_with(_csv(_row("e-1")).replace(",", ";"))

    ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)

    [rejected] = world.bus.of("Feed Rejected")
    assert "Excel" in rejected.reason
    assert "commas" in rejected.reason
    assert "Ada" not in rejected.reason


def test_without_a_reject_queue_a_refused_file_fails_every_attempt_and_is_still_alerted() -> None:
    world = _world_with("")
    world.rejects = None

    for _ in range(3):
        with pytest.raises(InvalidInput, match="empty"):
            ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)
    assert world.feeds.items[SOURCE.feed_id].status is FeedStatus.REJECTED
    assert len(world.bus.of("Feed Rejected")) == 1


def test_a_mass_hire_is_held_like_a_mass_departure() -> None:
    world = _world_with(_csv(*[_row(f"e-{n}") for n in range(4)]))
    rules = policy()
    rules = rules.model_copy(update={"onboarding": rules.onboarding.model_copy(update={"max_hires_per_feed": 3})})

    outcome = ingest_feed(SOURCE, policy=rules, ports=world.feed, now=NOW)

    assert (outcome.status, outcome.hires) == ("HELD", 4)
    assert world.hr_bus.entries == []
    assert world.roster.entries == {}
    [held] = world.bus.of("Feed Held")
    assert (held.hires, held.max_hires) == (4, 3)
    released = release_feed(SOURCE.feed_id, policy=rules, ports=world.feed, now=NOW)
    assert (released.status, world.hr_bus.types()) == ("RELEASED", ["Employee Hired"] * 4)


def _seed_roster(world: World, count: int) -> None:
    world.roster.apply([_entry(f"e-{n}") for n in range(count)], [])
    world.roster.mark_accepted("feed-old", NOW - dt.timedelta(days=1))


def test_a_mass_departure_is_held_and_nothing_is_published() -> None:
    world = _world_with(_csv(_row("e-0")))  # 4 of 5 gone: above max_departures_per_feed (3)
    _seed_roster(world, 5)

    outcome = ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)

    assert (outcome.status, outcome.departures) == ("HELD", 4)
    assert world.hr_bus.entries == []
    assert len(world.roster.entries) == 5
    [held] = world.bus.of("Feed Held")
    assert (held.feed_id, held.departures, held.threshold) == (SOURCE.feed_id, 4, 3)


def test_a_held_feed_released_by_an_operator_is_applied() -> None:
    world = _world_with(_csv(_row("e-0")))
    _seed_roster(world, 5)
    ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)

    outcome = release_feed(SOURCE.feed_id, policy=policy(), ports=world.feed, now=NOW + dt.timedelta(hours=1))

    assert outcome.status == "RELEASED"
    assert world.hr_bus.types() == ["Employee Departed"] * 4
    assert set(world.roster.entries) == {"e-0"}
    with pytest.raises(InvalidInput, match="not HELD"):
        release_feed(SOURCE.feed_id, policy=policy(), ports=world.feed, now=NOW)


def test_a_discarded_feed_changes_nothing() -> None:
    world = _world_with(_csv(_row("e-0")))
    _seed_roster(world, 5)
    ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)

    outcome = discard_feed(SOURCE.feed_id, ports=world.feed, now=NOW)

    assert outcome.status == FeedStatus.DISCARDED.value
    assert world.hr_bus.entries == []
    assert len(world.roster.entries) == 5


def test_a_held_feed_overtaken_by_a_later_roster_cannot_be_released() -> None:
    world = _world_with(_csv(_row("e-0")))
    _seed_roster(world, 5)
    ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)
    later = FeedSource(bucket="feed", key="rosters/december.csv", version_id="v2")
    world.files.files[("feed", later.key, "v2")] = _csv(*[_row(f"e-{n}") for n in range(5)])
    ingest_feed(later, policy=policy(), ports=world.feed, now=NOW + dt.timedelta(hours=1))

    with pytest.raises(InvalidInput, match="overtaken"):
        release_feed(SOURCE.feed_id, policy=policy(), ports=world.feed, now=NOW + dt.timedelta(hours=2))


def test_an_unreadable_file_is_rejected_as_a_whole() -> None:
    world = _world_with("")

    outcome = ingest_feed(SOURCE, policy=policy(), ports=world.feed, now=NOW)

    assert outcome.status == "REJECTED"
    assert world.feeds.items[SOURCE.feed_id].status is FeedStatus.REJECTED
