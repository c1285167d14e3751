"""When things happen to a desk, pure: local moments at a site (provisioning at 07:00 local, lead_days before the
start; stop at the end of the last day), the deadlines that follow, and the names and bodies of the timers that
carry them (EventBridge Scheduler names: at most 64 characters)."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

from autopilot.contracts.timers import TimerFired
from autopilot.domain.kernel.desks import Desk
from autopilot.domain.kernel.policy import Policy

# The desk is created at this local time, lead_days before the start date (the morning, so a failure is
# seen by people at work and still has lead_days to be fixed).
PROVISION_AT_LOCAL = dt.time(7, 0)
TIMER_NAME_MAX = 64


# --- time ---------------------------------------------------------------------------------------------
def local_moment(day: dt.date, at: dt.time, timezone: str) -> dt.datetime:
    """`day` at `at` in the site's time zone, as an aware UTC datetime."""
    return dt.datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def site_timezone(policy: Policy, site: str) -> str:
    config = policy.sites.get(site)
    return config.timezone if config is not None else "UTC"


def stop_moment(last_day: dt.date, policy: Policy, site: str) -> dt.datetime:
    """When a leaver's desk is stopped: the end of the last day (stop_at_local) in the site's time zone."""
    return local_moment(last_day, policy.offboarding.stop_at_local, site_timezone(policy, site))


def offboarding_times(desk: Desk, last_day: dt.date, policy: Policy) -> tuple[dt.datetime, dt.datetime]:
    """(stop, terminate): the end of the last day in the site's time zone, then retention_days later."""
    stop_at = stop_moment(last_day, policy, desk.site)
    return stop_at, stop_at + dt.timedelta(days=policy.offboarding.retention_days)


def provision_due(start_date: dt.date, lead_days: int, timezone: str) -> dt.datetime:
    return local_moment(start_date - dt.timedelta(days=lead_days), PROVISION_AT_LOCAL, timezone)


def start_deadline(start_date: dt.date, timezone: str) -> dt.datetime:
    """The end of the start date in the site's time zone: after it, a hire that still cannot be created fails."""
    return local_moment(start_date + dt.timedelta(days=1), dt.time(0, 0), timezone)


# --- timer names ----------------------------------------------------------------------------------------
def timer_name(prefix: str, employee_id: str, suffix: str = "") -> str:
    """`<prefix>-<employee_id>[-<suffix>]`, at most 64 characters (a long id is replaced by a digest)."""
    tail = f"-{suffix}" if suffix else ""
    name = f"{prefix}-{employee_id}{tail}"
    if len(name) <= TIMER_NAME_MAX:
        return name
    digest = hashlib.sha256(employee_id.encode()).hexdigest()[: TIMER_NAME_MAX - len(prefix) - len(tail) - 1]
    return f"{prefix}-{digest}{tail}"


def provision_timer(employee_id: str, due: dt.datetime) -> TimerFired:
    return TimerFired(kind="provision", name=timer_name("provision", employee_id), due=due, employee_id=employee_id)


def stop_timer(employee_id: str, due: dt.datetime) -> TimerFired:
    return TimerFired(kind="stop", name=timer_name("stop", employee_id), due=due, employee_id=employee_id)


def terminate_timer(employee_id: str, due: dt.datetime) -> TimerFired:
    return TimerFired(kind="terminate", name=timer_name("terminate", employee_id), due=due, employee_id=employee_id)


def transfer_timer(employee_id: str, due: dt.datetime) -> TimerFired:
    """A transfer check (lifecycle applies the desk's recorded profile to its WorkSpace)."""
    stamp = due.astimezone(dt.UTC).strftime("%Y%m%d%H%M")
    return TimerFired(
        kind="transfer", name=timer_name("transfer", employee_id, stamp), due=due, employee_id=employee_id
    )
