"""The day simulation's report: an HTML page with PNG charts (matplotlib, Agg backend).

Charts: openings per hour (from the doors' own logs), time for a revocation to reach each door,
battery of the simulated home locks at the start and the end of the day, and door clock offsets
at the first contact and at the end. Headings are Danish with English subtitles.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

CHARTS = {
    "openings_per_hour.png": ("Åbninger pr. time", "Openings per hour"),
    "revocation_reach.png": (
        "Tid før spærringen når døren",
        "Time for a revocation to reach a door",
    ),
    "battery.png": ("Batterifordeling", "Battery distribution"),
    "clock_offsets.png": ("Urafvigelser", "Clock offsets"),
}


def _openings(path: Path, per_hour: dict[int, int]) -> None:
    hours = list(range(24))
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=90)
    ax.bar(hours, [per_hour.get(h, 0) for h in hours], color="#2b6cb0")
    ax.set_xlabel("time (København) / hour (Copenhagen)")
    ax.set_ylabel("åbninger / openings")
    ax.set_xticks(hours[::2])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _reach(path: Path, exposures: list[dict[str, Any]]) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=90)
    for what, colour in (("phone_lost", "#c53030"), ("citizen_removed", "#dd6b20")):
        reached = [
            x["exposure_s"] / 60 for x in exposures if x["revocation"] == what and x["reached"]
        ]
        if reached:
            ax.hist(
                reached, bins=30, alpha=0.7, color=colour, label=f"{what} ({len(reached)} døre)"
            )
    never = sum(1 for x in exposures if not x["reached"])
    ax.set_xlabel("minutter fra spærring til døren ved det / minutes from block to door")
    ax.set_ylabel("døre / doors")
    ax.set_title(
        f"{never} døre nåede det ikke: åbne til nøglerne udløb / never reached: until expiry",
        fontsize=9,
    )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _battery(path: Path, batteries: list[tuple[float, float]]) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=90)
    if batteries:
        ax.hist([b[0] for b in batteries], bins=20, range=(0, 100), alpha=0.6, label="start")
        ax.hist([b[1] for b in batteries], bins=20, range=(0, 100), alpha=0.6, label="slut / end")
        ax.legend(fontsize=8)
    ax.axvline(20, color="#c53030", linestyle="--", linewidth=1)
    ax.set_xlabel("batteri % (hjemmelåse) / battery % (home locks)")
    ax.set_ylabel("låse / locks")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _offsets(path: Path, offsets: list[tuple[float | None, float | None]]) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=90)
    first = [o[0] for o in offsets if o[0] is not None]
    last = [o[1] for o in offsets if o[1] is not None]
    if first or last:
        low = min(first + last)
        high = max(first + last)
        span = (low - 0.1, high + 0.1)
        ax.hist(first, bins=30, range=span, alpha=0.6, label="første kontakt / first contact")
        ax.hist(last, bins=30, range=span, alpha=0.6, label="dagens slut / end of day")
        ax.legend(fontsize=8)
    ax.set_xlabel("dørens ur minus sand tid, sekunder / door clock minus true time, s")
    ax.set_ylabel("døre / doors")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(directory: Path, summary: dict[str, Any], details: dict[str, Any]) -> Path:
    """Write ``index.html`` and the PNG charts into ``directory``; return the HTML path."""
    directory.mkdir(parents=True, exist_ok=True)
    _openings(directory / "openings_per_hour.png", details["openings_per_hour"])
    _reach(directory / "revocation_reach.png", details["exposures"])
    _battery(directory / "battery.png", details["batteries"])
    _offsets(directory / "clock_offsets.png", details["offsets"])
    checks = [
        ("Mistede hændelser / events lost", summary.get("events_lost"), 0),
        (
            "Åbninger med spærret nøgle efter spærringen nåede døren / "
            "openings by a revoked key after the revocation reached the door",
            summary.get("openings_after_revocation_reached"),
            0,
        ),
        (
            "Hjem åbnet af samarbejdspartnere / homes opened by partners",
            summary.get("partner_home_openings"),
            0,
        ),
        (
            "Hjem åbnet af andre end kommunens personale / homes opened by non-staff",
            summary.get("non_staff_home_openings"),
            0,
        ),
        (
            "Samarbejdspartneres nøgler, som serveren ikke har udstedt / "
            "partner keys at the doors not issued by the server",
            summary.get("partner_keys_signed_outside_server"),
            0,
        ),
        (
            "Åbninger med nøgler, som foreningens spærring tilbagekaldte / "
            "openings with keys the association's block revoked",
            summary.get("partner_openings_after_block"),
            0,
        ),
        (
            "Alarmtyper, hvis scenarie nåede kontoret (fast, brudt op, stående åben, lavt "
            "batteri, ukendt) / alarm kinds whose scenario reached the office",
            sum(1 for n in (summary.get("alarms_raised") or {}).values() if n),
            len(summary.get("alarms_raised") or {}) or 5,
        ),
    ]
    rows = "\n".join(
        f"<tr><td>{html.escape(label)}</td><td>{value}</td>"
        f"<td>{'OK' if value == want else 'FEJL / FAIL'}</td></tr>"
        for label, value, want in checks
    )
    figures = "\n".join(
        f'<figure><h2>{html.escape(da)}</h2><p class="en">{html.escape(en)}</p>'
        f'<img src="{name}" alt="{html.escape(en)}"></figure>'
        for name, (da, en) in CHARTS.items()
    )
    body = json.dumps(summary, ensure_ascii=False, indent=2)
    page = f"""<!doctype html>
<html lang="da"><head><meta charset="utf-8">
<title>CareKey — en dag i kommunen / a day in the municipality</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem }}
.en {{ color: #555; font-style: italic; margin-top: -0.6rem }}
table {{ border-collapse: collapse }} td {{ border: 1px solid #ccc; padding: 0.3rem 0.6rem }}
img {{ max-width: 100%; border: 1px solid #eee }}
pre {{ background: #f6f6f6; padding: 1rem; overflow-x: auto; font-size: 0.8rem }}
</style></head><body>
<h1>En dag i {html.escape(str(summary.get("profile")))}</h1>
<p class="en">A simulated day of home care ({html.escape(str(summary.get("database")))},
seed {summary.get("seed")}): {summary.get("visits")} visits,
{summary.get("door_operations")} door operations, wall time {summary.get("wall_s", "?")} s.</p>
<h2>Invarianter</h2><p class="en">Invariants</p>
<table>{rows}</table>
<p>Længste eksponering efter en spærring / longest revocation exposure:
{summary.get("max_revocation_exposure_s")} s
(døre nået / doors reached: {summary.get("revocation_doors_reached")} af
{summary.get("revocation_doors")}).</p>
<p>Samarbejdspartnere / partners: {summary.get("partner_openings")} åbninger gemt på serveren /
openings stored by the server, {summary.get("partner_refusals_outside_window")} afvist uden for
tidsvinduet / refused outside the window; spærringen nåede telefonerne efter / the block reached
the phones after {summary.get("partner_block_reach_s")} s.</p>
{figures}
<h2>Resumé</h2><p class="en">Summary (the JSON line)</p>
<pre>{html.escape(body)}</pre>
</body></html>
"""
    path = directory / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
