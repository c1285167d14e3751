"""`plan ROSTER_FILE`: what a roster file would do if it were dropped in the feed bucket now, without doing it.

The roster is parsed and diffed against the accepted roster by the onboarding domain's own functions
(domain/hr/roster.py), then each change is matched with the desk records and the policy: who gets which desk,
whose desk is stopped and terminated (and when), whose desk changes profile, and what the fleet costs a month
before and after (autopilot_ops/pricing.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from autopilot.domain.hr.feed_hold import hold_reason
from autopilot.domain.hr.roster import ParsedRoster, RosterEntry, diff_roster
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.policy import Policy
from autopilot_ops.pricing import DeskPrice, profile_price

BILLED = (Lifecycle.PROVISIONING, Lifecycle.READY, Lifecycle.LEAVING, Lifecycle.STOPPED)
GONE = (Lifecycle.CANCELLED, Lifecycle.TERMINATED, Lifecycle.FAILED)


class _Prices:
    def __init__(self, policy: Policy, region: str, hours: int) -> None:
        self._policy, self._region, self._hours = policy, region, hours
        self._cache: dict[str, DeskPrice] = {}

    def of(self, profile: str) -> DeskPrice:
        if profile not in self._policy.profiles:
            return DeskPrice(None, f"profile {profile} is not in the policy")
        if profile not in self._cache:
            self._cache[profile] = profile_price(self._policy, profile, self._region, autostop_hours=self._hours)
        return self._cache[profile]


def _money(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def plan_roster(
    parsed: ParsedRoster,
    *,
    previous: Mapping[str, RosterEntry],
    desks: Mapping[str, Desk],
    policy: Policy,
    today: dt.date,
    region: str,
    autostop_hours: int,
) -> dict[str, Any]:
    diff = diff_roster(previous, parsed, feed_date=today)
    prices = _Prices(policy, region, autostop_hours)
    unknown_prices: set[str] = set()

    def cost(profile: str) -> float:
        price = prices.of(profile)
        if price.monthly is None:
            unknown_prices.add(profile)
            return 0.0
        return price.monthly

    current = sum(cost(desk.profile) for desk in desks.values() if desk.lifecycle in BILLED)
    delta = 0.0

    hires: list[dict[str, Any]] = []
    for hire in diff.hired:
        row: dict[str, Any] = {"employee_id": hire.employee_id, "site": hire.site, "start_date": str(hire.start_date)}
        if hire.site not in policy.sites:
            hires.append({**row, "action": f"refused: site {hire.site!r} is not in the policy"})
            continue
        name, profile = policy.profile_for(department=hire.department, role=hire.role, site=hire.site)
        provision_on = hire.start_date - dt.timedelta(days=policy.onboarding.lead_days)
        existing = desks.get(hire.employee_id)
        row |= {
            "profile": name,
            "bundle": profile.bundle,
            "compute": profile.compute,
            "running_mode": profile.running_mode,
            "directory": policy.sites[hire.site].directory,
            "provision_on": str(max(provision_on, today)),
            "monthly": _money(prices.of(name).monthly),
        }
        if existing is not None and existing.lifecycle in BILLED:
            row["action"] = f"keeps desk {existing.workspace_id or '(being built)'}" + (
                f", profile {existing.profile} -> {name}" if existing.profile != name else ""
            )
            delta += cost(name) - cost(existing.profile)
        elif existing is not None and existing.lifecycle is Lifecycle.SCHEDULED:
            row["action"] = "already scheduled"
        else:
            row["action"] = "new desk"
            delta += cost(name)
        hires.append(row)

    departures: list[dict[str, Any]] = []
    for departure in diff.departed:
        desk = desks.get(departure.employee_id)
        row = {"employee_id": departure.employee_id, "last_day": str(departure.last_day)}
        if desk is None or desk.lifecycle in GONE:
            departures.append({**row, "action": "nothing to do" + (f" (desk {desk.lifecycle.value})" if desk else "")})
            continue
        row |= {"workspace_id": desk.workspace_id, "lifecycle": desk.lifecycle.value, "profile": desk.profile}
        if desk.lifecycle is Lifecycle.SCHEDULED and desk.start_date and departure.last_day < desk.start_date:
            departures.append({**row, "action": "provisioning cancelled"})
            continue
        terminate_on = departure.last_day + dt.timedelta(days=policy.offboarding.retention_days)
        row |= {
            "action": "stop, then terminate",
            "stop_on": str(departure.last_day),
            "terminate_on": str(terminate_on),
            "monthly_saving": _money(prices.of(desk.profile).monthly),
        }
        if desk.lifecycle in BILLED:
            delta -= cost(desk.profile)
        departures.append(row)

    transfers: list[dict[str, Any]] = []
    for transfer in diff.transferred:
        desk = desks.get(transfer.employee_id)
        row = {
            "employee_id": transfer.employee_id,
            "site": transfer.site,
            "effective_date": str(transfer.effective_date),
        }
        if desk is None or desk.lifecycle not in (*BILLED, Lifecycle.SCHEDULED):
            transfers.append({**row, "action": "no live desk: nothing to resize"})
            continue
        if transfer.site not in policy.sites:
            transfers.append({**row, "action": f"refused: site {transfer.site!r} is not in the policy"})
            continue
        name, profile = policy.profile_for(department=transfer.department, role=transfer.role, site=transfer.site)
        changes = _changes(policy, desk, name)
        old_site = policy.sites.get(desk.site)
        if old_site is not None and old_site.directory != policy.sites[transfer.site].directory:
            changes.append("another directory: a person moves the desk (not automated)")
        row |= {
            "workspace_id": desk.workspace_id,
            "from_profile": desk.profile,
            "to_profile": name,
            "action": "; ".join(changes) if changes else "no change to the desk",
            "monthly_delta": _money(cost(name) - cost(desk.profile)) if name != desk.profile else 0.0,
        }
        if desk.lifecycle in BILLED:
            delta += cost(name) - cost(desk.profile)
        transfers.append(row)

    held_because = hold_reason(diff, policy)
    if held_because is not None:
        # A held file applies nothing until an operator releases it: say so on every row it would change.
        for row in (*hires, *departures, *transfers):
            row["action"] = f"not applied while the file is held (then: {row['action']})"
    return {
        "feed_date": str(today),
        "held": held_because is not None,
        "held_because": held_because,
        "max_departures_per_feed": policy.offboarding.max_departures_per_feed,
        "max_hires_per_feed": policy.onboarding.max_hires_per_feed,
        "not_applied": (
            {
                "hires": [row["employee_id"] for row in hires],
                "departures": [row["employee_id"] for row in departures],
                "transfers": [row["employee_id"] for row in transfers],
            }
            if held_because is not None
            else None
        ),
        "hires": hires,
        "departures": departures,
        "transfers": transfers,
        "rejected_rows": [
            {"line": row.line, "employee_id": row.employee_id, "errors": row.errors} for row in parsed.rejected
        ],
        "cost": {
            "currency": "USD",
            "region": region,
            "autostop_hours_per_month": autostop_hours,
            "current_monthly": _money(current),
            "after_monthly": _money(current + delta),
            "delta_monthly": _money(delta),
            "profiles_without_price": sorted(unknown_prices),
        },
    }


def _changes(policy: Policy, desk: Desk, to_profile: str) -> list[str]:
    if to_profile == desk.profile:
        return []
    new = policy.profiles[to_profile]
    old = policy.profiles.get(desk.profile)
    if old is None:
        return [f"profile {desk.profile} -> {to_profile}"]
    changes = []
    if old.bundle != new.bundle:
        changes.append(f"resize: bundle {old.bundle} -> {new.bundle} (MigrateWorkspace)")
    if old.compute != new.compute and new.compute:
        changes.append(f"resize: compute {old.compute or 'bundle default'} -> {new.compute}")
    if old.running_mode != new.running_mode:
        changes.append(f"running mode {old.running_mode} -> {new.running_mode}")
    elif new.running_mode == "AUTO_STOP" and old.autostop_hours != new.autostop_hours:
        changes.append(f"AutoStop {old.autostop_hours} h -> {new.autostop_hours} h")
    return changes or [f"profile {desk.profile} -> {to_profile} (same desk settings)"]
