"""The fleet report renders in headless Chromium (Debian's `chromium`) as a page with its five charts.

The page is rendered twice: with data, and with none (every chart is then a "No data" placeholder). The
screenshot is decoded here (PNG, stdlib zlib) and each chart's own colours are counted: present in the full
render, absent from the empty one. Skipped, with the reason, only where chromium is not installed."""

from __future__ import annotations

import datetime as dt
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from autopilot_ops import report_html
from autopilot_ops.report_data import DRAWN_STATES, OUTCOMES, IncidentDay, ReportData, StatePoint, UnusedRow, UsageBar

NOW = dt.datetime(2026, 12, 15, 8, 0, tzinfo=dt.UTC)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian package `chromium`; .ci/run installs it)"
)
WINDOW = (1280, 2700)


def full_data() -> ReportData:
    start = NOW - dt.timedelta(days=14)
    data = ReportData(title="Fleet report", source="test fleet", generated_at=NOW, period_start=start, period_end=NOW)
    data.desks_total = 130
    data.by_state = {"READY": 100, "STOPPED": 10, "LEAVING": 8, "SCHEDULED": 12}
    data.by_profile = {"agent": 80, "office": 40, "datasci": 10}
    data.states_over_time = [
        StatePoint(
            start + dt.timedelta(hours=8 * i),
            {
                "SCHEDULED": 12 - i % 12,
                "PROVISIONING": i % 5,
                "READY": 60 + i,
                "LEAVING": i % 8,
                "STOPPED": i % 10,
                "FAILED": i % 3,
            },
        )
        for i in range(40)
    ]
    data.incidents_by_day = [
        IncidentDay((start + dt.timedelta(days=d)).date(), {o: (d + k) % 4 for k, o in enumerate(OUTCOMES)})
        for d in range(14)
    ]
    data.incident_outcomes = {o: 5 + k for k, o in enumerate(OUTCOMES)}
    data.remediation_actions = {"reboot requested": 20, "rebuild requested": 4}
    data.lead_minutes = [18, 19, 21, 22, 22, 23, 24, 26, 28, 31, 40, 55, 70]
    data.ready_before_start = 12
    data.ready_late = 1
    data.unused = [UnusedRow(f"ws-unused{i:04d}", f"E9{i:04d}", 30 + 3 * i, None) for i in range(8)]
    data.usage_month = "2026-12"
    data.usage = [
        UsageBar(f"ws-usage{i:04d}", f"E8{i:04d}", hours, 87.5, "AUTO_STOP", "keep")
        for i, hours in enumerate([140, 120, 95, 80, 60, 40, 20, 5])
    ]
    return data


def empty_data() -> ReportData:
    return ReportData(title="Fleet report", source="empty fleet", generated_at=NOW, period_start=NOW, period_end=NOW)


# --- a PNG reader (8-bit RGB/RGBA, non-interlaced: what Chromium writes) -----------------------------------
def read_png(path: Path) -> tuple[int, int, int, bytes]:
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, chunks, header = 8, [], b""
    while offset < len(blob):
        (length,) = struct.unpack(">I", blob[offset : offset + 4])
        kind = blob[offset + 4 : offset + 8]
        payload = blob[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = payload
        elif kind == b"IDAT":
            chunks.append(payload)
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0), "unexpected PNG format"
    assert colour in (2, 6), "unexpected PNG colour type"
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    pixels = bytearray(height * stride)
    previous = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + predictor) & 0xFF
        pixels[row * stride : (row + 1) * stride] = line
        previous = line
    return width, height, channels, bytes(pixels)


def colour_counts(path: Path) -> Counter[str]:
    """Pixels per #rrggbb colour. Counted by (r, g, b) in one pass over three byte slices (a C loop), then named:
    the same counts as formatting every one of the 3.5 million pixels, in a third of the CPU."""
    _, _, channels, pixels = read_png(path)
    by_rgb = Counter(zip(pixels[0::channels], pixels[1::channels], pixels[2::channels], strict=True))
    return Counter({f"#{r:02x}{g:02x}{b:02x}": count for (r, g, b), count in by_rgb.items()})


def screenshot(html: str, tmp_path: Path, name: str) -> Path:
    assert CHROMIUM is not None
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    png = tmp_path / f"{name}.png"
    profile = tmp_path / f"{name}-profile"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        page.as_uri(),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert png.is_file(), f"chromium wrote no screenshot (exit {completed.returncode}): {completed.stderr[-800:]}"
    return png


CHART_COLOURS = {
    "desks by state": [report_html.STATE_COLOURS[s] for s in DRAWN_STATES],
    "incidents by outcome": list(report_html.OUTCOME_COLOURS.values()),
    "provisioning lead time": [report_html.LEAD_COLOUR],
    "unused desks": [report_html.UNUSED_COLOUR],
    "autostop against break-even": [report_html.BELOW_COLOUR, report_html.ABOVE_COLOUR],
}


def test_report_is_one_self_contained_page_with_five_svg_charts() -> None:
    html = report_html.render(full_data())
    for chart in ("chart-states", "chart-incidents", "chart-lead", "chart-unused", "chart-autostop"):
        assert f'id="{chart}" class="chart"' in html
    # readable offline: nothing fetched, nothing run
    for forbidden in ("<script", "<link", "src=", "@import", "url(", "http://", "https://"):
        assert forbidden not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_report_without_data_shows_placeholders_not_errors() -> None:
    html = report_html.render(empty_data())
    assert html.count('class="chart empty"') == 5
    assert "No data in this period" in html


def test_report_escapes_what_it_shows() -> None:
    data = full_data()
    data.source = "<script>alert(1)</script>"
    data.unused = [UnusedRow("ws-<b>x</b>", "E&1", 40, None)]
    html = report_html.render(data)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "ws-&lt;b&gt;x&lt;/b&gt;" in html


@needs_chromium
def test_report_renders_its_charts_in_headless_chromium(tmp_path: Path) -> None:
    full = colour_counts(screenshot(report_html.render(full_data()), tmp_path, "full"))
    empty = colour_counts(screenshot(report_html.render(empty_data()), tmp_path, "empty"))

    # Given a page with data, when Chromium renders it, then it is not blank ...
    assert sum(full.values()) == WINDOW[0] * WINDOW[1]
    assert full.most_common(1)[0][1] < 0.9 * WINDOW[0] * WINDOW[1]
    # ... and every chart is drawn in its own colours; without data only the legends' small squares have them.
    for chart, colours in CHART_COLOURS.items():
        drawn = sum(full[colour] for colour in colours)
        legend_only = sum(empty[colour] for colour in colours)
        assert drawn > 2_000, f"{chart}: only {drawn} pixels of its colours"
        assert drawn > 10 * legend_only, f"{chart}: {drawn} pixels with data, {legend_only} without"
    # the break-even ticks (dark) sit on the usage bars
    assert full["#1d2733"] > empty["#1d2733"]
