"""The whole-day simulation on the small profile: the JSON summary, the invariants, the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carekey.sim.day import DayOptions, cli_command, run

KEYS = {
    "visits",
    "door_operations",
    "events_lost",
    "openings_after_revocation_reached",
    "partner_home_openings",
    "max_revocation_exposure_s",
    "max_removal_exposure_s",
    "finder_openings_after_block",
    "finder_with_code_openings_after_bound",
    "visits_refused_stale",
    "code_prompts_per_visit",
    "wall_s",
    "employees_simulated",
}


def test_a_small_day_keeps_the_invariants_and_writes_the_report(tmp_path: Path) -> None:
    report = tmp_path / "report"
    summary = run(DayOptions(profile="small", seed=3, report_dir=report))

    assert summary.keys() >= KEYS
    assert summary["visits"] > 50
    assert summary["door_operations"] >= summary["visits"]
    assert summary["events_lost"] == 0
    # Every door alarm of the day's scenarios reached the server through a phone (issue 13).
    assert set(summary["alarms_raised"]) == {
        "jammed",
        "forced_open",
        "door_ajar",
        "low_battery",
        "unknown",
    }
    assert all(count > 0 for count in summary["alarms_raised"].values()), summary["alarms_raised"]
    assert summary["openings_after_revocation_reached"] == 0
    assert summary["partner_home_openings"] == 0
    assert summary["non_staff_home_openings"] == 0
    assert summary["partner_home_attempts"] > 0
    assert summary["revocation_doors"] > 0
    assert summary["logins"] == summary["employees_simulated"]
    # A lost phone opens nothing: sealed without the code, and not past the offline bound with
    # it (from the doors' own logs); every block is bounded by the proofs of freshness.
    assert summary["finder_attempts"] > 0
    assert summary["finder_openings_after_block"] == 0
    assert summary["finder_with_code_attempts"] > 0
    assert summary["finder_with_code_openings_after_bound"] == 0
    assert summary["max_revocation_exposure_s"] <= summary["offline_bound_s"] <= 3_660
    assert summary["max_removal_exposure_s"] <= summary["offline_bound_s"]
    assert 0.9 <= summary["code_prompts_per_visit"] <= 1.5
    assert json.loads(json.dumps(summary)) == summary

    page = (report / "index.html").read_text(encoding="utf-8")
    for chart in ("openings_per_hour", "revocation_reach", "battery", "clock_offsets"):
        assert (report / f"{chart}.png").stat().st_size > 1000
        assert f'src="{chart}.png"' in page


def test_the_command_prints_one_json_line_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_command(profile="small", seed_value=2, employees_fraction=0.5)
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary.keys() >= KEYS
    assert summary["events_lost"] == 0


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="profil"):
        run(DayOptions(profile="atlantis"))
