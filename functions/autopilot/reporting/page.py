"""The fleet report as one self-contained HTML page: inline CSS and inline SVG charts, no script, no external
asset, readable offline and printable. Pure (stdlib + reporting.data): the operator CLI and the weekly
ReportFunction render it alike."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape

from autopilot.reporting.data import OUTCOMES, ReportData

STATE_COLOURS = {
    "SCHEDULED": "#8e44ad",
    "PROVISIONING": "#f39c12",
    "READY": "#27ae60",
    "LEAVING": "#2980b9",
    "STOPPED": "#7f8c8d",
    "FAILED": "#c0392b",
}
# Each chart has colours of its own, so a look at a screenshot (or a pixel count in a test) tells them apart.
OUTCOME_COLOURS = {
    "login": "#2ecc71",
    "recheck": "#1abc9c",
    "alarm_ok": "#3498db",
    "operator": "#9b59b6",
    "escalated": "#e74c3c",
    "open": "#f1c40f",
}
OUTCOME_LABELS = {
    "login": "resolved: user logged in",
    "recheck": "resolved: healthy on re-check",
    "alarm_ok": "resolved: alarm cleared",
    "operator": "resolved by an operator",
    "escalated": "open, escalated to a human",
    "open": "open",
}
LEAD_COLOUR = "#2c7fb8"
UNUSED_COLOUR = "#d35400"
BELOW_COLOUR = "#117a65"
ABOVE_COLOUR = "#a93226"
WIDTH = 1100
MAX_BARS = 25

CSS = """
body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}
header{background:#1d2733;color:#fff;padding:20px 32px}
header h1{margin:0 0 6px;font-size:24px}header p{margin:0;color:#c9d3dd;font-size:13px}
main{max-width:1180px;margin:0 auto;padding:18px 24px 40px}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:6px 0 18px}
.tile{background:#fff;border-radius:8px;padding:12px 16px;min-width:150px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.tile b{display:block;font-size:26px}.tile span{font-size:12px;color:#5b6b7b}
section{background:#fff;border-radius:8px;padding:14px 20px 18px;margin:0 0 18px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
section h2{font-size:18px;margin:4px 0 4px}section p.note{font-size:12px;color:#5b6b7b;margin:0 0 8px}
.legend{font-size:12px;margin:6px 0 0}.legend i{display:inline-block;width:11px;height:11px;margin:0 5px 0 12px;
vertical-align:-1px;border-radius:2px}
table{border-collapse:collapse;font-size:12px;margin-top:8px}td,th{padding:3px 10px;border-bottom:1px solid #e3e8ee;
text-align:left}th{color:#5b6b7b;font-weight:600}
svg text{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif}
@media print{body{background:#fff}section{box-shadow:none;border:1px solid #ccc;break-inside:avoid}}
"""


def _t(value: object) -> str:
    return escape(str(value), quote=True)


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def _legend(colours: dict[str, str], labels: dict[str, str] | None = None) -> str:
    items = "".join(
        f'<i style="background:{colour}"></i>{_t((labels or {}).get(key, key))}' for key, colour in colours.items()
    )
    return f'<div class="legend">{items}</div>'


def _empty(chart_id: str, message: str, height: int = 120) -> str:
    return (
        f'<svg id="{chart_id}" class="chart empty" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="{_t(message)}" xmlns="http://www.w3.org/2000/svg">'
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#f7f9fb" stroke="#d5dde5"/>'
        f'<text x="{WIDTH // 2}" y="{height // 2}" text-anchor="middle" fill="#5b6b7b" font-size="14">'
        f"{_t(message)}</text></svg>"
    )


def _nice(value: float, ticks: int = 4) -> float:
    """The axis maximum: `value` rounded up so that each of the `ticks` steps is a whole number."""
    return float(max(ticks, math.ceil(value / ticks) * ticks))


def _axis(left: int, top: int, width: int, height: int, maximum: float, ticks: int = 4) -> str:
    parts = [f'<line x1="{left}" y1="{top + height}" x2="{left + width}" y2="{top + height}" stroke="#9aa8b6"/>']
    for i in range(ticks + 1):
        value = maximum * i / ticks
        y = top + height - height * i / ticks
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="#eef2f5"/>')
        label = f"{value:g}"
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6b7b">{label}</text>'
        )
    return "".join(parts)


def stacked_columns(
    chart_id: str,
    columns: Sequence[tuple[str, dict[str, int]]],
    colours: dict[str, str],
    *,
    height: int = 300,
    title: str,
) -> str:
    """Columns of stacked counts (one column per sample), an x label every few columns."""
    if not columns or not any(sum(values.values()) for _, values in columns):
        return _empty(chart_id, "No data in this period")
    left, top, bottom = 56, 12, 46
    plot_w, plot_h = WIDTH - left - 16, height - top - bottom
    maximum = _nice(max(sum(values.values()) for _, values in columns))
    step = plot_w / len(columns)
    bar = min(max(step * 0.78, 1.0), 90.0)
    parts = [_axis(left, top, plot_w, plot_h, maximum)]
    every = max(1, len(columns) // 8)
    for index, (label, values) in enumerate(columns):
        x = left + index * step + (step - bar) / 2
        y: float = top + plot_h
        for key, colour in colours.items():
            count = values.get(key, 0)
            if not count:
                continue
            h = plot_h * count / maximum
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{_t(label)}: {_t(key)} {count}</title></rect>"
            )
        if index % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" '
                f'fill="#5b6b7b">{_t(label)}</text>'
            )
    return (
        f'<svg id="{chart_id}" class="chart" width="{WIDTH}" height="{height}" role="img" aria-label="{_t(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def columns(chart_id: str, bars: Sequence[tuple[str, int]], colour: str, *, title: str, height: int = 240) -> str:
    if not bars or not any(value for _, value in bars):
        return _empty(chart_id, "No data in this period")
    return stacked_columns(
        chart_id, [(label, {"n": value}) for label, value in bars], {"n": colour}, title=title, height=height
    )


def horizontal_bars(
    chart_id: str,
    rows: Sequence[tuple[str, float, str, float | None]],
    *,
    title: str,
    unit: str,
) -> str:
    """One bar per row (label, value, colour, marker): the marker is a vertical tick (a break-even)."""
    if not rows:
        return _empty(chart_id, "No data in this period")
    left, top, row_h = 240, 8, 22
    plot_w = WIDTH - left - 80
    height = top + row_h * len(rows) + 30
    maximum = max([value for _, value, _, _ in rows] + [marker or 0 for _, _, _, marker in rows] + [1])
    parts = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + row_h * len(rows)}" stroke="#9aa8b6"/>']
    for index, (label, value, colour, marker) in enumerate(rows):
        y = top + index * row_h
        w = plot_w * value / maximum
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="11" fill="#1d2733">{_t(label)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 6}" fill="{colour}">'
            f"<title>{_t(label)}: {value:g} {unit}</title></rect>"
            f'<text x="{left + w + 6:.1f}" y="{y + 15}" font-size="11" fill="#5b6b7b">{value:g}</text>'
        )
        if marker is not None:
            mx = left + plot_w * marker / maximum
            parts.append(
                f'<line class="marker" x1="{mx:.1f}" y1="{y + 1}" x2="{mx:.1f}" y2="{y + row_h - 1}" stroke="#1d2733" '
                f'stroke-width="3"><title>break-even {marker:.0f} {unit}</title></line>'
            )
    return (
        f'<svg id="{chart_id}" class="chart" width="{WIDTH}" height="{height}" role="img" aria-label="{_t(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def _tile(value: object, label: str) -> str:
    return f'<div class="tile"><b>{_t(value)}</b><span>{_t(label)}</span></div>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{_t(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_t(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _sample_label(moment: dt.datetime, span: dt.timedelta) -> str:
    if span <= dt.timedelta(days=2):
        return moment.strftime("%d %H:%M")
    return moment.strftime("%m-%d")


def render(data: ReportData) -> str:
    span = data.period_end - data.period_start
    lead = data.lead_summary
    above = [u for u in data.usage if u.break_even is not None and u.hours >= u.break_even]
    open_incidents = data.incident_outcomes.get("open", 0) + data.incident_outcomes.get("escalated", 0)
    tiles = "".join(
        [
            _tile(data.desks_total, "desk records"),
            _tile(data.by_state.get("READY", 0), "desks ready"),
            _tile(open_incidents, "open incidents"),
            _tile(f"{lead['median_minutes']} min" if lead["median_minutes"] is not None else "—", "median build time"),
            _tile(len(data.unused), f"unused ≥ {data.unused_days} days"),
            _tile(f"{len(above)} / {len(data.usage)}", "AutoStop desks at or over break-even"),
        ]
    )
    states = stacked_columns(
        "chart-states",
        [(_sample_label(p.at, span), p.counts) for p in data.states_over_time],
        STATE_COLOURS,
        title="Desks by state over time",
    )
    incidents = stacked_columns(
        "chart-incidents",
        [(str(day.day), day.outcomes) for day in data.incidents_by_day],
        OUTCOME_COLOURS,
        title="Incidents opened per day, by outcome",
        height=260,
    )
    outcome_rows = [(OUTCOME_LABELS[o], data.incident_outcomes.get(o, 0)) for o in OUTCOMES]
    lead_chart = columns("chart-lead", data.lead_histogram, LEAD_COLOUR, title="Provisioning lead time")
    unused_chart = horizontal_bars(
        "chart-unused",
        [
            (f"{u.workspace_id} ({u.employee_id or '?'})", u.idle_days, UNUSED_COLOUR, None)
            for u in data.unused[:MAX_BARS]
        ],
        title="Unused desks: days since the last login",
        unit="days",
    )
    usage_chart = horizontal_bars(
        "chart-autostop",
        [
            (
                f"{u.workspace_id} ({u.running_mode or '?'})",
                u.hours,
                ABOVE_COLOUR if u.break_even is not None and u.hours >= u.break_even else BELOW_COLOUR,
                u.break_even,
            )
            for u in data.usage[:MAX_BARS]
        ],
        title="AutoStop billable hours against the always-on break-even",
        unit="h",
    )
    state_table = _table(["state now", "desks"], list(data.by_state.items()))
    profile_table = _table(["profile", "live desks"], list(data.by_profile.items()))
    unused_table = _table(
        ["workspace", "employee", "idle days", "last login"],
        [(u.workspace_id, u.employee_id or "?", u.idle_days, _when(u.last_login)) for u in data.unused[:100]],
    )
    period = _t(f"{_when(data.period_start)} → {_when(data.period_end)}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_t(data.title)}</title><style>{CSS}</style></head>
<body>
<header><h1>{_t(data.title)}</h1>
<p>{_t(data.source)} · {period} · generated {_t(_when(data.generated_at))}</p>
</header>
<main>
<div class="tiles">{tiles}</div>
<section id="states"><h2>Desks by state over time</h2>
<p class="note">From each desk's audit trail; terminated and cancelled desks are not drawn.</p>
{states}{_legend(STATE_COLOURS)}
<div style="display:flex;gap:40px">{state_table}{profile_table}</div>
</section>
<section id="incidents"><h2>Incidents and their outcomes</h2>
<p class="note">Incidents opened per day (and those still open), coloured by how they ended.</p>
{incidents}{_legend(OUTCOME_COLOURS, OUTCOME_LABELS)}
<div style="display:flex;gap:40px">{_table(["outcome", "incidents"], outcome_rows)}
{_table(["remediation step", "times"], list(data.remediation_actions.items()) or [("none", 0)])}</div>
</section>
<section id="lead"><h2>Provisioning lead time</h2>
<p class="note">CreateWorkspaces to a READY desk, per desk built in the period. Median {_t(lead["median_minutes"])} min,
90th percentile {_t(lead["p90_minutes"])} min, longest {_t(lead["max_minutes"])} min; ready by the start date:
{data.ready_before_start}, after it: {data.ready_late}.</p>
{lead_chart}
</section>
<section id="unused"><h2>Unused desks</h2>
<p class="note">READY desks without a login for {data.unused_days} days or more (longest idle first; nothing is
stopped or terminated for it).</p>
{unused_chart}
{unused_table}
</section>
<section id="autostop"><h2>AutoStop hours against the always-on break-even ({_t(data.usage_month or "no month")})</h2>
<p class="note">Billable hours this month per desk (the optimiser's rows); the black tick is the desk's break-even,
above which a monthly (ALWAYS_ON) desk is cheaper. Red: at or over it.</p>
{usage_chart}{_legend({"below break-even": BELOW_COLOUR, "at or over break-even": ABOVE_COLOUR})}
</section>
</main></body></html>
"""
