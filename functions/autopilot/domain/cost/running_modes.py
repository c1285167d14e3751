"""Running-mode optimisation: for each managed desk, pay by the hour (AUTO_STOP) or by the month (ALWAYS_ON),
whichever is cheaper.

Once a day: month-to-date usage (UserConnected, batched) -> billable hours as AWS bills AUTO_STOP -> a decision
per desk -> (unless dry run) ModifyWorkspaceProperties -> the month's report rows -> a summary event.

- AUTO_STOP -> ALWAYS_ON when, on the bill, staying hourly for the rest of the month costs more than the monthly
  price prorated for the rest of the month that the switch adds, by 10 % (AWS bills both: the hours and AutoStop
  fee already billed stay billed), and no later daily run is expected to make the switch cheaper (idle days ahead:
  a weekend, a policy holiday). The hours ahead come from the desk's last four weeks by hour of the week
  (switch_timing: last month's record and this month's) once two weeks of them are observed, from the first run
  of a month on; before that, the desk must first reach its break-even (prorated to the days it existed this
  month) and its hours ahead are expected by weekday. The saving reported is that difference; once the month is
  over it is restated from the hours the desk would have been billed by the hour after the switch.
- ALWAYS_ON -> AUTO_STOP only at the month's end (AWS bills that month in full anyway): on the month's last UTC
  day, or on the first run of the next month for the desks that were not decided then, when the month's hours
  (what the desk would have been billed by the hour) stayed below the break-even.
- Never: a desk with the skip tag, a standby desk, a desk whose running mode changed by hand this month (or that
  we switched this month: no flapping back within a month), a compute type without a price.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from autopilot.contracts.outputs import RunningModesOptimised
from autopilot.domain.cost.decisions import (
    SWITCH_MARGIN,
    Decision,
    MonthUsage,
    _billed_hourly,
    _gone,
    decide,
    exclusion,
    fetch_start,
    maintenance_by_directory,
    observe_mode,
)
from autopilot.domain.cost.ports import (
    ManagedDesk,
    ModeChangeRefused,
    OptimizerPorts,
    ReportRow,
    ReportSource,
    UsageRecord,
)
from autopilot.domain.cost.switch_timing import LAG, switch_outlook, usage_profile
from autopilot.domain.cost.usage import (
    HOUR,
    ActivePeriod,
    autostop_hours,
    billable_hours,
    carried_over,
    expected_hours,
    floor_hour,
    is_last_day,
    month_of,
    month_start,
    previous_month,
    prorated_break_even,
    remaining_share,
    running_hour_set,
)
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.resolution import Resolution
from autopilot.domain.kernel.running_mode_policy import Price
from autopilot.domain.kernel.workspace import EMPLOYEE_TAG, PROFILE_TAG

SWITCHES: dict[str, str] = {"to_always_on": "ALWAYS_ON", "to_auto_stop": "AUTO_STOP"}
MODIFIABLE_STATES = frozenset({"AVAILABLE", "STOPPED"})
# Desk records that can have a WorkSpace (the others never reached CreateWorkspaces or are gone).
LIVE_LIFECYCLES = (Lifecycle.PROVISIONING, Lifecycle.READY, Lifecycle.LEAVING, Lifecycle.STOPPED)
MAX_IDS_IN_EVENT = 100


def _billed_at(record: UsageRecord, timeout: int) -> set[dt.datetime]:
    """The hours of the record's month the desk was (or, ALWAYS_ON, would have been) billed by the hour."""
    start = month_start(record.month)
    indexes = running_hour_set(record.connected_hours, timeout, carried_in=record.carried_in)
    indexes |= record.running_hours.hours
    return {start + index * HOUR for index in indexes}


# --- the run -------------------------------------------------------------------------------------------------
@dataclass
class RunOutcome:
    month: str
    enabled: bool = True
    dry_run: bool = True
    closed_month: str | None = None
    desks: int = 0
    to_always_on: int = 0
    to_auto_stop: int = 0
    new_decisions: int = 0
    changed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: int = 0
    skipped: int = 0
    estimated_monthly_saving: float = 0.0
    published: bool = False

    @property
    def noteworthy(self) -> bool:
        return bool(self.changed or self.failed or self.new_decisions or self.closed_month)

    def event(self, now: dt.datetime) -> RunningModesOptimised:
        return RunningModesOptimised(
            month=self.month,
            closed_month=self.closed_month,
            dry_run=self.dry_run,
            desks=self.desks,
            to_always_on=self.to_always_on,
            to_auto_stop=self.to_auto_stop,
            changed=len(self.changed),
            failed=len(self.failed),
            deferred=self.deferred,
            skipped=self.skipped,
            estimated_monthly_saving=round(self.estimated_monthly_saving, 2),
            changed_workspace_ids=sorted(self.changed)[:MAX_IDS_IN_EVENT],
            failed_workspace_ids=sorted(self.failed)[:MAX_IDS_IN_EVENT],
            ran_at=now,
        )

    def summary(self) -> dict[str, object]:
        """Ids and counts only (the handler's return value)."""
        return {
            "month": self.month,
            "enabled": self.enabled,
            "dry_run": self.dry_run,
            "closed_month": self.closed_month,
            "desks": self.desks,
            "to_always_on": self.to_always_on,
            "to_auto_stop": self.to_auto_stop,
            "changed": sorted(self.changed),
            "failed": sorted(self.failed),
            "deferred": self.deferred,
            "skipped": self.skipped,
            "estimated_monthly_saving": round(self.estimated_monthly_saving, 2),
            "published": self.published,
        }


def optimize_running_modes(
    policy: Policy, resolution: Resolution, ports: OptimizerPorts, *, now: dt.datetime
) -> RunOutcome:
    """The daily run. Raises on any failure of the run itself (AWS errors, a lost conditional write), so the
    invocation fails and is retried, then dead-lettered with an `automation_failure` alert; a desk whose change
    WorkSpaces refuses is reported as failed and retried on the next run."""
    settings = policy.optimizer
    month = month_of(now)
    if not settings.enabled:
        return RunOutcome(month=month, enabled=False)
    run = _Run(policy, ports, now, maintenance_by_directory(policy, resolution))
    tag_key, tag_value = policy.managed_tag
    desks = sorted(
        ports.fleet.managed_desks(resolution.directory_ids, tag_key, tag_value), key=lambda d: d.workspace_id
    )
    records = {desk.workspace_id: desk for lifecycle in LIVE_LIFECYCLES for desk in ports.desks.by_lifecycle(lifecycle)}
    desks += _gone(ports.usage, month, {desk.workspace_id for desk in desks})
    ids = [desk.workspace_id for desk in desks]
    stored = ports.usage.load(ids, [run.previous, month]) if ids else {}
    starts = {ws: fetch_start(stored.get((ws, month)), stored.get((ws, run.previous)), month) for ws in ids}
    # An AUTO_STOP desk is billed for every hour it runs, with or without a user (pre-warm, maintenance): read when
    # it ran (Stopped). Another desk never stops: read when a user was connected (UserConnected), to know what
    # it would cost by the hour.
    first_hour = month_start(month)

    def billed_hourly(ws: str) -> bool:
        current, previous = stored.get((ws, month)), stored.get((ws, run.previous))
        if current is not None and not _billed_hourly(current):
            return False
        return previous is None or starts[ws] >= first_hour or _billed_hourly(previous)

    # A month paid monthly (we switched the desk to AUTO_STOP in it) is still measured by its sessions.
    hourly = {
        desk.workspace_id for desk in desks if desk.running_mode == "AUTO_STOP" and billed_hourly(desk.workspace_id)
    }
    end = floor_hour(now) + HOUR
    ran_starts = {ws: start for ws, start in starts.items() if ws in hourly}
    connected_starts = {ws: start for ws, start in starts.items() if ws not in hourly}
    connected = ports.metrics.connected_hours(connected_starts, end) if connected_starts else {}
    ran = ports.metrics.running_hours(ran_starts, end) if ran_starts else {}
    for desk in desks:
        ws = desk.workspace_id
        run.process(
            desk,
            records.get(ws),
            stored.get((ws, month)),
            stored.get((ws, run.previous)),
            connected.get(ws, []),
            ran.get(ws, []),
        )
    outcome = run.outcome
    if outcome.noteworthy:
        ports.bus.publish([outcome.event(now)])
        outcome.published = True
    return outcome


@dataclass(frozen=True)
class _DeskFacts:
    employee_id: str | None
    profile_autostop_hours: int
    period_created_at: dt.datetime | None
    period_ends_at: dt.datetime | None


class _Run:
    def __init__(self, policy: Policy, ports: OptimizerPorts, now: dt.datetime, maintenance: dict[str, int]) -> None:
        self.policy = policy
        self.settings = policy.optimizer
        self.ports = ports
        self.now = now
        self.month = month_of(now)
        self.previous = previous_month(self.month)
        self.maintenance = maintenance
        self.dry_run = policy.dry_run or self.settings.dry_run
        # The policy's holidays (the pre-warm calendar): days a desk is expected idle.
        self.holidays = frozenset(policy.prewarm.holidays)
        self.switches = 0
        self.outcome = RunOutcome(month=self.month, dry_run=self.dry_run)

    # --- one desk -------------------------------------------------------------------------------------------
    def process(
        self,
        desk: ManagedDesk,
        record: Desk | None,
        current: UsageRecord | None,
        previous: UsageRecord | None,
        stamps: list[dt.datetime],
        ran: Sequence[dt.datetime] = (),
    ) -> None:
        self.outcome.desks += 1
        facts = self._facts(record, desk.tags)
        current = current or UsageRecord(workspace_id=desk.workspace_id, month=self.month)
        current = current.with_connected(stamps, fetched_until=self.now, ran=ran if _billed_hourly(current) else ())
        stored_previous = previous
        if previous is not None:
            previous = previous.with_connected(
                stamps, fetched_until=self.now, ran=ran if _billed_hourly(previous) else ()
            )
        current, previous, by_hand = observe_mode(desk, current, previous, self.now)
        timeout = self._timeout_hours(desk, facts)
        if previous is not None and stored_previous is not None:
            current = current.model_copy(update={"carried_in": carried_over(previous.connected_hours, timeout)})
            # A closed month only changes while its last hours come in, or when a switch of ours is settled.
            if (
                not stored_previous.closed
                or previous.connected != stored_previous.connected
                or previous.running != stored_previous.running
                or stored_previous.intent_to
            ):
                closed = self._close_previous(desk, facts, previous, timeout, by_hand)
                if closed.switched_at == self.now and closed.switched_to:
                    # Switched just now on last month's review: this month starts from the new mode.
                    minutes = 60 * facts.profile_autostop_hours if closed.switched_to == "AUTO_STOP" else None
                    desk = dataclasses.replace(desk, running_mode=closed.switched_to, autostop_minutes=minutes)
                    current = current.model_copy(update={"mode_seen": closed.switched_to})
                    timeout = self._timeout_hours(desk, facts)
        self._decide_current(desk, facts, current, timeout, previous)

    def _close_previous(
        self, desk: ManagedDesk, facts: _DeskFacts, record: UsageRecord, timeout: int, by_hand_now: bool
    ) -> UsageRecord:
        if record.closed:
            # Decided on the month's last day: only its last hours change now.
            return self._store(self._with_usage(record, desk, facts, timeout, closing=True)[0])
        hold = exclusion(desk, self.settings) or self._changed_in(record)
        if hold is None and by_hand_now:
            hold = "running mode changed by hand: left as set until next month's end"
        record, usage = self._with_usage(record, desk, facts, timeout, closing=True)
        decision = decide(
            running_mode=desk.running_mode,
            usage=usage,
            price=self.settings.price_for(desk.compute),
            closing=True,
            hold=hold,
            previous_month=True,
        )
        self.outcome.closed_month = record.month
        return self._settle(desk, facts, record, decision, closes=True)

    def _decide_current(
        self, desk: ManagedDesk, facts: _DeskFacts, record: UsageRecord, timeout: int, previous: UsageRecord | None
    ) -> None:
        closing = is_last_day(self.now)
        record, usage = self._with_usage(record, desk, facts, timeout, closing=False, previous=previous)
        if record.closed:
            self._store(record)
            return
        hold = exclusion(desk, self.settings) or self._changed_in(record)
        decision = decide(
            running_mode=desk.running_mode,
            usage=usage,
            price=self.settings.price_for(desk.compute),
            closing=closing,
            hold=hold,
        )
        if closing:
            self.outcome.closed_month = self.month
        self._settle(desk, facts, record, decision, closes=closing)

    # --- helpers --------------------------------------------------------------------------------------------
    def _facts(self, record: Desk | None, tags: Mapping[str, str]) -> _DeskFacts:
        default = self.settings.default_autostop_hours
        if record is None:
            # Not (yet) adopted: the tags provisioning and the local cloud put on every desk, when present.
            tagged = self.policy.profiles.get(tags.get(PROFILE_TAG, ""))
            return _DeskFacts(tags.get(EMPLOYEE_TAG) or None, tagged.autostop_hours if tagged else default, None, None)
        profile = self.policy.profiles.get(record.profile)
        hours = profile.autostop_hours if profile else (record.autostop_hours or default)
        created = None
        if record.origin != "adopted":
            created = record.provisioning_started_at or record.ready_at or record.created_at
        ends = None
        if record.last_day is not None:
            # Stopped on the last day, billed until terminated after the retention period.
            retention = dt.timedelta(days=self.policy.offboarding.retention_days + 1)
            ends = dt.datetime.combine(record.last_day, dt.time(), tzinfo=dt.UTC) + retention
        return _DeskFacts(record.employee_id, hours, created, ends)

    def _timeout_hours(self, desk: ManagedDesk, facts: _DeskFacts) -> int:
        """The AutoStop timeout billed after each session: the desk's own, or (ALWAYS_ON) the one it would get."""
        if desk.running_mode == "AUTO_STOP":
            return autostop_hours(desk.autostop_minutes, facts.profile_autostop_hours)
        return facts.profile_autostop_hours

    def _changed_in(self, record: UsageRecord) -> str | None:
        if record.manual_change_at is not None:
            return f"running mode changed by hand in {record.month}: left as set until the month after"
        if record.switched_at is not None:
            return f"switched to {record.switched_to} in {record.month}: not switched back within the month"
        return None

    def _with_usage(
        self,
        record: UsageRecord,
        desk: ManagedDesk,
        facts: _DeskFacts,
        timeout: int,
        *,
        closing: bool,
        previous: UsageRecord | None = None,
    ) -> tuple[UsageRecord, MonthUsage]:
        period = ActivePeriod.of(record.month, created_at=facts.period_created_at, ends_at=facts.period_ends_at)
        price = self.settings.price_for(desk.compute)
        maintenance = self.maintenance.get(desk.directory_id, 0)
        hours = billable_hours(
            record.connected_hours,
            timeout,
            carried_in=record.carried_in,
            maintenance_hours=maintenance,
            ran=record.running_hours,
        )
        threshold = prorated_break_even(price.break_even_hours, period) if price else float("inf")
        live = not closing and record.month == self.month
        observed = period.observed_fraction(self.now if live else None)
        share = remaining_share(self.now, record.month) if live else 0.0
        expected = None
        if live:
            billed = running_hour_set(record.connected_hours, timeout, carried_in=record.carried_in)
            billed |= record.running_hours.hours
            expected = expected_hours(billed, record.month, observed_from=period.start, now=self.now, until=period.end)
        usage = MonthUsage(record.month, hours, threshold, period, observed, maintenance, share, expected)
        if live and price and desk.running_mode == "AUTO_STOP":
            usage = self._with_outlook(usage, price, record, previous, timeout, facts)
        changes: dict[str, object] = {
            "hours": hours,
            "break_even": round(threshold, 2) if price else None,
            "employee_id": facts.employee_id or record.employee_id,
            "compute": desk.compute,
            "running_mode": record.running_mode if record.closed else desk.running_mode,
        }
        if price and record.switched_to == "ALWAYS_ON" and record.switch_hours is not None:
            # What the switch saves on the bill: the hours the desk would have been billed by the hour after it
            # (what it is used, plus the timeout it would have), against the monthly price prorated from it.
            after = max(usage.projected_hours - record.switch_hours, 0.0)
            changes["estimated_saving"] = round(price.hourly * after - price.monthly * (record.switch_share or 0), 2)
        return record.model_copy(update=changes), usage

    def _with_outlook(
        self,
        usage: MonthUsage,
        price: Price,
        record: UsageRecord,
        previous: UsageRecord | None,
        timeout: int,
        facts: _DeskFacts,
    ) -> MonthUsage:
        """The forecast of switch_timing from the desk's last four weeks (last month's record and this month's),
        when two weeks of them are observed: hours expected by hour of the week, and the cheapest run to switch."""
        billed = _billed_at(record, timeout)
        observed_from = usage.period.start
        if previous is not None and previous.fetched_until is not None:
            billed |= _billed_at(previous, timeout)
            observed_from = month_start(previous.month)
        if facts.period_created_at is not None:
            observed_from = max(observed_from, facts.period_created_at)
        profile = usage_profile(
            billed, observed_from=observed_from, observed_until=self.now - LAG, holidays=self.holidays
        )
        if profile is None or not profile.settled:
            return usage
        outlook = switch_outlook(
            profile,
            price,
            now=self.now,
            until=usage.period.end,
            month=usage.month,
            margin=SWITCH_MARGIN,
            holidays=self.holidays,
        )
        return dataclasses.replace(
            usage,
            expected_more=outlook.hours_left,
            settled=True,
            wait_until=outlook.wait_until,
            wait_saves=outlook.wait_saves,
        )

    def _settle(
        self, desk: ManagedDesk, facts: _DeskFacts, record: UsageRecord, decision: Decision, *, closes: bool
    ) -> UsageRecord:
        """Count, apply and record one decision; write the record and its report row."""
        if decision.action == "skip":
            self.outcome.skipped += 1
        elif decision.action in SWITCHES:
            if decision.action == "to_always_on":
                self.outcome.to_always_on += 1
            else:
                self.outcome.to_auto_stop += 1
            self.outcome.estimated_monthly_saving += decision.estimated_saving
            if record.decision != decision.action:
                self.outcome.new_decisions += 1
        applied, record = self._apply(desk, facts, record, decision)
        deferred = applied.startswith("deferred")
        if deferred:
            self.outcome.deferred += 1
        keeps_switch = record.switched_at is not None and decision.action not in SWITCHES
        if not keeps_switch:
            record = record.model_copy(
                update={
                    "decision": decision.action,
                    "reason": decision.reason,
                    "estimated_saving": decision.estimated_saving,
                    "applied": applied,
                    "decided_at": self.now,
                }
            )
        if closes and not deferred:
            record = record.model_copy(update={"closed": True})
        return self._store(record)

    def _apply(
        self, desk: ManagedDesk, facts: _DeskFacts, record: UsageRecord, decision: Decision
    ) -> tuple[str, UsageRecord]:
        target = SWITCHES.get(decision.action)
        if target is None:
            return "", record
        if self.dry_run:
            return "dry run", record
        if desk.state not in MODIFIABLE_STATES:
            return f"deferred: desk is {desk.state}", record
        if self.switches >= self.settings.max_switches_per_run:
            return "deferred: optimizer.max_switches_per_run reached", record
        self.switches += 1
        # Going hourly: the AutoStop timeout of the desk's profile (the policy's default without a desk record).
        minutes = 60 * facts.profile_autostop_hours if target == "AUTO_STOP" else None
        # Intent first: a crash after the request must not look like a change made by hand on the next run.
        record = self.ports.usage.save(record.model_copy(update={"intent_to": target, "intent_at": self.now}))
        try:
            self.ports.fleet.set_running_mode(desk.workspace_id, target, minutes)
        except ModeChangeRefused as refused:
            self.outcome.failed.append(desk.workspace_id)
            return f"failed: {refused.code}", record.model_copy(update={"intent_to": None, "intent_at": None})
        self.outcome.changed.append(desk.workspace_id)
        done: dict[str, object] = {
            "intent_to": None,
            "intent_at": None,
            "switched_to": target,
            "switched_at": self.now,
            "mode_seen": target,
        }
        if target == "ALWAYS_ON" and record.month == self.month:
            done |= {"switch_hours": record.hours, "switch_share": remaining_share(self.now, record.month)}
        return "changed", record.model_copy(update=done | {"running_mode": target})

    def _store(self, record: UsageRecord) -> UsageRecord:
        saved = self.ports.usage.save(record)
        if saved.decision is not None:
            self.ports.usage.put_report_row(ReportRow.of(saved))
        return saved


def monthly_report_csv(source: ReportSource, month: str) -> str:
    """The month's running-mode report as CSV (one row per desk, ids only), for the operator CLI."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ReportRow.COLUMNS)
    for row in sorted(source.report_rows(month), key=lambda r: r.workspace_id):
        values = row.model_dump(include=set(ReportRow.COLUMNS))
        if values["break_even"] is not None:
            values["break_even"] = f"{values['break_even']:.2f}"
        values["estimated_saving"] = f"{values['estimated_saving']:.2f}"
        writer.writerow(["" if values[column] is None else values[column] for column in ReportRow.COLUMNS])
    return buffer.getvalue()
