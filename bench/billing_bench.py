"""Billing truth (issue 19): a simulated month of a fleet shaped like this project's users, billed by the local
cloud's meter model (localcloud/billing.py), with the running-mode optimiser deciding every day.

Pure Python on the meter model, not the full local cloud: a month of a few hundred desks on moto would take far
longer than the rest of `make bench`. The optimiser is the real one (`optimize_running_modes`, daily at 05:30
UTC) on in-memory ports; its metrics are what WorkSpaces would publish for the simulated desks (`UserConnected`
per hour, `Stopped` per hour of an AUTO_STOP desk).

May 2026: 31 days, weekends, and a public holiday on Friday 1 May. The fleet:
- call-centre agents on early (06:00) or late (14:00 UTC) shifts, Monday to Friday except the holiday, their
  desks pre-warmed 30 minutes before each shift; one shift in twenty nobody logs in (the desk ran for nothing
  until its AutoStop timeout); most are ALWAYS_ON from earlier months, some start the month hourly;
- office staff, hybrid (2 to 5 office days a week, 5 to 9 hours, a 45-minute lunch break);
- data scientists on POWER desks, long days and some Saturdays;
- test machines used a few hours a week (VALUE);
- hires created between the 11th and the 15th, leavers terminated between the 15th and the 20th;
- a desk switched to ALWAYS_ON by hand on the 10th.

Figures, each beside the same figure for AWS's Cost Optimizer for WorkSpaces' published rule, reimplemented:
- the month-end estimate of billable hours against the meter, per desk (worst desk; target at most 1 %);
- the money saved against a hindsight oracle that knows each desk's month and switches it at the best daily run
  (target: at least 95 % of the oracle's saving, reported as the shortfall, at most 5 %);
- desks made more expensive than doing nothing (target 0).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from autopilot.adapters.policy_source import packaged_policy_text
from autopilot.domain.cost.ports import ManagedDesk, OptimizerPorts, ReportRow, UsageRecord
from autopilot.domain.cost.running_modes import optimize_running_modes
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.resolution import Resolution
from autopilot.domain.kernel.running_mode_policy import Price
from autopilot_ops.cur import estimate
from localcloud import billing

UTC = dt.UTC
MONTH = "2026-05"
START = dt.datetime(2026, 5, 1, tzinfo=UTC)
END = dt.datetime(2026, 6, 1, tzinfo=UTC)
HOLIDAYS = {dt.date(2026, 5, 1)}
HOUR = dt.timedelta(hours=1)
RUN_AT = dt.time(5, 30)
DIRECTORY = "d-1111111111"
RETENTION = 30
# Cost Optimizer for WorkSpaces: hourly -> monthly once a day when the month's billable hours reach the bundle's
# threshold (its implementation guide: the default for a Standard WorkSpace is 85 h). The thresholds of the
# other bundles are not in the pages we found: their break-even rounded down stands in.
CO_THRESHOLDS = {"STANDARD": 85}

Interval = tuple[dt.datetime, dt.datetime]


@dataclasses.dataclass
class SimDesk:
    workspace_id: str
    kind: str
    compute: str
    mode: str  # at the month's start (or creation)
    timeout_h: int
    created_at: dt.datetime
    terminated_at: dt.datetime | None
    sessions: list[Interval]
    prewarms: list[dt.datetime]
    by_hand: tuple[dt.datetime, str] | None = None

    def running(self) -> list[Interval]:
        """When the desk runs as an AUTO_STOP desk: from each start or login to the timeout after the last use."""
        demands = sorted([(s, e) for s, e in self.sessions] + [(p, p) for p in self.prewarms])
        merged: list[Interval] = []
        for start, end in demands:
            stop = end + dt.timedelta(hours=self.timeout_h)
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
            else:
                merged.append((start, stop))
        if self.terminated_at is not None:
            merged = [(s, min(e, self.terminated_at)) for s, e in merged if s < self.terminated_at]
        return merged

    def timeline(self, switches: Iterable[tuple[dt.datetime, str]]) -> billing.DeskTimeline:
        changes = sorted([*switches, *([self.by_hand] if self.by_hand else [])])
        return billing.DeskTimeline(
            self.workspace_id,
            self.created_at,
            modes=[(self.created_at, self.mode), *changes],
            computes=[(self.created_at, self.compute)],
            running=list(self.running()),
            terminated_at=self.terminated_at,
        )


# --- the fleet ------------------------------------------------------------------------------------------------
def _days() -> list[dt.date]:
    return [START.date() + dt.timedelta(days=n) for n in range((END - START).days)]


def _at(day: dt.date, hour: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=UTC) + dt.timedelta(hours=hour)


def fleet(size: int, seed: int = 19) -> list[SimDesk]:
    rng = random.Random(seed)
    desks: list[SimDesk] = []
    shares = [("agent", 0.40), ("office", 0.28), ("datasci", 0.10), ("test", 0.10), ("hire", 0.06), ("leaver", 0.06)]
    counts = {kind: max(1, round(size * share)) for kind, share in shares}
    for kind, count in counts.items():
        for _ in range(count):
            desks.append(_desk(kind, len(desks), rng))
    # A desk switched to ALWAYS_ON by hand on the 10th (the optimiser leaves it so).
    office = next(d for d in desks if d.kind == "office" and d.mode == "AUTO_STOP")
    office.by_hand = (_at(dt.date(2026, 5, 10), 12), "ALWAYS_ON")
    return desks


def _desk(kind: str, index: int, rng: random.Random) -> SimDesk:
    workspace_id = f"ws-bench{index:05d}"
    created, terminated = START - dt.timedelta(days=90), None
    compute, mode, timeout = "STANDARD", "AUTO_STOP", 1
    sessions: list[Interval] = []
    prewarms: list[dt.datetime] = []
    weekdays = [d for d in _days() if d.weekday() < 5 and d not in HOLIDAYS]
    if kind == "agent":
        mode = "ALWAYS_ON" if rng.random() < 0.8 else "AUTO_STOP"
        shift = rng.choice((6.0, 14.0))
        for day in weekdays:
            prewarms.append(_at(day, shift - 0.5))
            if rng.random() < 0.05:
                continue  # absent: the pre-warmed desk runs until its timeout
            login = shift + rng.uniform(0, 0.15)
            sessions += [(_at(day, login), _at(day, shift + 4)), (_at(day, shift + 4.5), _at(day, shift + 8))]
    elif kind in ("office", "hire", "leaver"):
        per_week = rng.choice((2, 3, 4, 5))
        length = rng.uniform(5, 9)
        if kind == "hire":
            created = _at(dt.date(2026, 5, rng.randint(11, 15)), 8)
        if kind == "leaver":
            mode = rng.choice(("AUTO_STOP", "ALWAYS_ON"))
            terminated = _at(dt.date(2026, 5, rng.randint(15, 20)), 18)
        for day in weekdays:
            if day.weekday() >= per_week or _at(day, 24) <= created:
                continue
            start = rng.uniform(7.5, 10)
            if _at(day, start) < created:
                continue  # no session before the desk exists
            lunch = start + length / 2
            sessions += [(_at(day, start), _at(day, lunch)), (_at(day, lunch + 0.75), _at(day, start + length + 0.75))]
    elif kind == "datasci":
        compute, mode, timeout = "POWER", rng.choice(("ALWAYS_ON", "AUTO_STOP")), 2
        for day in _days():
            if day in weekdays or (day.weekday() == 5 and rng.random() < 0.3):
                start = rng.uniform(7.5, 9.5)
                sessions.append((_at(day, start), _at(day, start + rng.uniform(9, 12))))
    elif kind == "test":
        compute = "VALUE"
        for day in weekdays:
            if rng.random() < 0.4:
                start = rng.uniform(9, 16)
                sessions.append((_at(day, start), _at(day, start + rng.uniform(0.5, 2))))
    if terminated is not None:
        sessions = [(s, min(e, terminated)) for s, e in sessions if s < terminated]
        prewarms = [p for p in prewarms if p < terminated]
    return SimDesk(workspace_id, kind, compute, mode, timeout, created, terminated, sessions, prewarms)


# --- hour stamps as CloudWatch would give them ----------------------------------------------------------------
def _hours(intervals: Iterable[Interval]) -> set[dt.datetime]:
    return set(billing.running_clock_hours(intervals, START - dt.timedelta(days=1), END + dt.timedelta(days=1)))


# --- the optimiser on in-memory ports -------------------------------------------------------------------------
class _Ports:
    def __init__(self, desks: Sequence[SimDesk], now: list[dt.datetime]) -> None:
        self.sim = {d.workspace_id: d for d in desks}
        self.now = now
        self.modes = {d.workspace_id: d.mode for d in desks}
        self.switches: dict[str, list[tuple[dt.datetime, str]]] = {d.workspace_id: [] for d in desks}
        self.connected = {d.workspace_id: d.sessions for d in desks}
        self.ran = {d.workspace_id: d.running() for d in desks}
        self.records: dict[tuple[str, str], UsageRecord] = {}

    # ManagedFleet
    def managed_desks(self, directory_ids: Sequence[str], tag_key: str, tag_value: str) -> list[ManagedDesk]:
        now = self.now[0]
        live = []
        for ws, desk in self.sim.items():
            if desk.created_at > now or (desk.terminated_at is not None and desk.terminated_at <= now):
                continue
            mode = self.modes[ws]
            if desk.by_hand and desk.by_hand[0] <= now:
                mode = desk.by_hand[1] if not self.switches[ws] or self.switches[ws][-1][0] < desk.by_hand[0] else mode
            minutes = 60 * desk.timeout_h if mode == "AUTO_STOP" else None
            live.append(ManagedDesk(ws, DIRECTORY, "AVAILABLE", mode, minutes, desk.compute, {tag_key: tag_value}))
        return live

    def set_running_mode(self, workspace_id: str, running_mode: str, autostop_minutes: int | None) -> None:
        self.modes[workspace_id] = running_mode
        self.switches[workspace_id].append((self.now[0], running_mode))

    # UsageMetrics
    # Only what happened before `now`: CloudWatch has no data from the future.
    def connected_hours(self, starts: Mapping[str, dt.datetime], end: dt.datetime) -> dict[str, list[dt.datetime]]:
        until = min(end, self.now[0])
        return {ws: billing.running_clock_hours(self.connected[ws], start, until) for ws, start in starts.items()}

    def running_hours(self, starts: Mapping[str, dt.datetime], end: dt.datetime) -> dict[str, list[dt.datetime]]:
        until = min(end, self.now[0])
        return {ws: billing.running_clock_hours(self.ran[ws], start, until) for ws, start in starts.items()}

    # UsageStore
    def load(self, workspace_ids: Sequence[str], months: Sequence[str]) -> dict[tuple[str, str], UsageRecord]:
        return {(w, m): self.records[(w, m)] for w in workspace_ids for m in months if (w, m) in self.records}

    def save(self, record: UsageRecord) -> UsageRecord:
        saved = record.model_copy(update={"version": record.version + 1})
        self.records[(record.workspace_id, record.month)] = saved
        return saved

    def put_report_row(self, row: ReportRow) -> None:
        return None

    def report_rows(self, month: str) -> list[ReportRow]:
        return [ReportRow.of(r) for (_, m), r in self.records.items() if m == month and r.decision is not None]

    # DeskRecords: hires and leavers have one (their part of the month prorates the break-even)
    def by_lifecycle(self, lifecycle: Lifecycle) -> Iterable[Desk]:
        if lifecycle != Lifecycle.READY:
            return []
        records = []
        for ws, desk in self.sim.items():
            if desk.kind not in ("hire", "leaver"):
                continue
            last_day = None
            if desk.terminated_at is not None:
                last_day = (desk.terminated_at - dt.timedelta(days=RETENTION + 1)).date()
            records.append(
                Desk(
                    employee_id=f"E{ws[-5:]}",
                    workspace_id=ws,
                    lifecycle=Lifecycle.READY,
                    site="paris-hq",
                    profile="bench",
                    directory_id=DIRECTORY,
                    bundle_id="wsb-standard01",
                    username=f"u{ws[-5:]}",
                    running_mode=desk.mode,
                    autostop_hours=desk.timeout_h,
                    origin="hired" if desk.kind == "hire" else "adopted",
                    provisioning_started_at=desk.created_at if desk.kind == "hire" else None,
                    last_day=last_day,
                    created_at=desk.created_at,
                    updated_at=desk.created_at,
                )
            )
        return records

    def publish(self, events: Sequence[Any]) -> None:
        return None


def _policy() -> Policy:
    document = yaml.safe_load(packaged_policy_text())
    document["dry_run"] = False
    document["optimizer"] = {"dry_run": False}
    document["offboarding"] = {**document.get("offboarding", {}), "retention_days": RETENTION}
    return Policy.model_validate(document)


def run_optimizer(desks: Sequence[SimDesk]) -> tuple[dict[str, list[tuple[dt.datetime, str]]], dict[str, UsageRecord]]:
    policy = _policy()
    resolution = Resolution(
        directories=dict.fromkeys(policy.sites, DIRECTORY),
        bundles={name: f"wsb-{name[:8]:0<8}" for name in policy.bundles},
    )
    now = [START]
    ports = _Ports(desks, now)
    port_set = OptimizerPorts(fleet=ports, metrics=ports, usage=ports, desks=ports, bus=ports)
    for day in range((END - START).days + 1):
        now[0] = dt.datetime.combine(START.date() + dt.timedelta(days=day), RUN_AT, tzinfo=UTC)
        optimize_running_modes(policy, resolution, port_set, now=now[0])
    in_month = {ws: [(t, m) for t, m in s if t < END] for ws, s in ports.switches.items()}
    return in_month, {ws: r for (ws, m), r in ports.records.items() if m == MONTH}


# --- the Cost Optimizer's rule (the baseline) -----------------------------------------------------------------
def run_cost_optimizer(
    desks: Sequence[SimDesk], prices: Mapping[str, Price]
) -> tuple[dict[str, list[tuple[dt.datetime, str]]], dict[str, float]]:
    """Once a day (midnight UTC): an hourly desk whose month-to-date hours (UserConnected hours plus the AutoStop
    timeout after each session) reach its bundle's threshold goes monthly."""
    switches: dict[str, list[tuple[dt.datetime, str]]] = {d.workspace_id: [] for d in desks}
    estimates: dict[str, float] = {}
    for desk in desks:
        threshold = CO_THRESHOLDS.get(desk.compute, int(prices[desk.compute].break_even_hours))
        connected = sorted(_hours(desk.sessions))
        mode = desk.mode
        for day in range(1, (END - START).days + 1):
            now = START + dt.timedelta(days=day)
            if desk.created_at > now or (desk.terminated_at is not None and desk.terminated_at <= now):
                continue
            if desk.by_hand and desk.by_hand[0] <= now:
                mode = desk.by_hand[1]
            hours = _co_hours([h for h in connected if START <= h < now], desk.timeout_h)
            if mode == "AUTO_STOP" and hours >= threshold and now < END:
                switches[desk.workspace_id].append((now, "ALWAYS_ON"))
                mode = "ALWAYS_ON"
        estimates[desk.workspace_id] = _co_hours([h for h in connected if START <= h < END], desk.timeout_h)
    return switches, estimates


def _co_hours(connected: Sequence[dt.datetime], timeout_h: int) -> int:
    sessions = sum(1 for i, h in enumerate(connected) if i == 0 or h - connected[i - 1] > HOUR)
    return len(connected) + sessions * timeout_h


# --- the oracle -----------------------------------------------------------------------------------------------
def oracle_cost(desk: SimDesk, prices: Mapping[str, Price]) -> float:
    """The cheapest month among: no switch, or a switch to ALWAYS_ON at one of the daily runs (hindsight)."""
    best = billing.bill_month(desk.timeline([]), MONTH, prices).cost
    if desk.mode != "AUTO_STOP":
        return best
    for day in range((END - START).days):
        moment = dt.datetime.combine(START.date() + dt.timedelta(days=day), RUN_AT, tzinfo=UTC)
        if moment < desk.created_at or (desk.terminated_at and moment >= desk.terminated_at):
            continue
        if desk.by_hand and moment >= desk.by_hand[0]:
            break
        best = min(best, billing.bill_month(desk.timeline([(moment, "ALWAYS_ON")]), MONTH, prices).cost)
    return best


# --- the run --------------------------------------------------------------------------------------------------
def run(size: int) -> dict[str, Any]:
    desks = fleet(size)
    prices = _policy().optimizer.prices
    ours, records = run_optimizer(desks)
    theirs, co_estimates = run_cost_optimizer(desks, prices)
    settings = _policy().optimizer
    rows: list[dict[str, Any]] = []
    for desk in desks:
        ws = desk.workspace_id
        nothing = billing.bill_month(desk.timeline([]), MONTH, prices)
        ours_bill = billing.bill_month(desk.timeline(ours[ws]), MONTH, prices)
        co_bill = billing.bill_month(desk.timeline(theirs[ws]), MONTH, prices)
        record = records.get(ws)
        ours_hours = estimate(record, settings)[0] if record is not None else 0.0
        # A desk changed by hand: neither tool knows when, so neither estimates the part billed by the hour.
        ours_estimated = not desk.by_hand
        co_hourly_all_month = not theirs[ws] and desk.mode == "AUTO_STOP" and not desk.by_hand
        rows.append(
            {
                "workspace_id": ws,
                "kind": desk.kind,
                "nothing": nothing.cost,
                "ours": ours_bill.cost,
                "cost_optimizer": co_bill.cost,
                "oracle": oracle_cost(desk, prices),
                "ours_hours_error": _relative(ours_hours, ours_bill.hours) if ours_estimated else None,
                "co_hours_error": _relative(co_estimates[ws], co_bill.hours) if co_hourly_all_month else None,
                # Its month's hours against what the meter bills the desk left hourly all month, on every desk
                # that starts the month hourly (its estimate is the same whether it switches or not).
                "co_hours_error_any": _relative(co_estimates[ws], nothing.hours)
                if desk.mode == "AUTO_STOP" and not desk.by_hand
                else None,
            }
        )
    return summarise(rows)


def _relative(estimated: float, billed: float) -> float | None:
    if billed == 0:
        return None if estimated == 0 else 1.0
    return abs(estimated - billed) / billed


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    oracle = sum(r["nothing"] - r["oracle"] for r in rows)
    ours = sum(r["nothing"] - r["ours"] for r in rows)
    theirs = sum(r["nothing"] - r["cost_optimizer"] for r in rows)
    ours_errors = [r["ours_hours_error"] for r in rows if r["ours_hours_error"] is not None]
    co_errors = [r["co_hours_error"] for r in rows if r["co_hours_error"] is not None]
    by_kind: dict[str, dict[str, float]] = {}
    for r in rows:
        entry = by_kind.setdefault(r["kind"], {"desks": 0, "oracle": 0.0, "ours": 0.0, "cost_optimizer": 0.0})
        entry["desks"] += 1
        for name in ("oracle", "ours", "cost_optimizer"):
            entry[name] = round(entry[name] + r["nothing"] - r[name], 2)
    return {
        "desks": len(rows),
        "month": MONTH,
        "saving": {"oracle": round(oracle, 2), "ours": round(ours, 2), "cost_optimizer": round(theirs, 2)},
        "shortfall": {
            "ours": 1 - ours / oracle if oracle else 0.0,
            "cost_optimizer": 1 - theirs / oracle if oracle else 0.0,
        },
        "hours_error_max": {"ours": max(ours_errors, default=0.0), "cost_optimizer": max(co_errors, default=0.0)},
        "hours_error_desks": {"ours": len(ours_errors), "cost_optimizer": len(co_errors)},
        "cost_optimizer_hours_error_any_hourly_desk": max(
            (r["co_hours_error_any"] for r in rows if r["co_hours_error_any"] is not None), default=0.0
        ),
        "more_expensive": {
            "ours": sum(1 for r in rows if r["ours"] > r["nothing"] + 0.005),
            "cost_optimizer": sum(1 for r in rows if r["cost_optimizer"] > r["nothing"] + 0.005),
        },
        "by_kind": by_kind,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100), indent=2, default=str))
