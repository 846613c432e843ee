"""The whole-day simulation on the small profile: the JSON summary, the invariants, the report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from carekey.sim.day import DayOptions, cli_command, run
from carekey.sim.day_partners import CHECKIN_EVERY

SIM = Path(__file__).resolve().parents[2] / "src" / "carekey" / "sim"

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
    "partner_openings",
    "partner_refusals_outside_window",
    "partner_block_reach_s",
    "partner_keys_signed_outside_server",
    "invariants_failed",
}


@pytest.fixture(scope="module")
def small_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    report = tmp_path_factory.mktemp("day") / "report"
    return run(DayOptions(profile="small", seed=3, report_dir=report)), report


def test_a_small_day_keeps_the_invariants_and_writes_the_report(
    small_day: tuple[dict[str, Any], Path],
) -> None:
    summary, report = small_day

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
    assert summary["invariants_failed"] == []
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


def test_online_entrances_learn_each_revocation_at_once(
    small_day: tuple[dict[str, Any], Path],
) -> None:
    """A quarter of the entrances and gates are online (issue 17): every revocation that
    concerns one reaches it when it is committed, with no phone in between; the others learn
    from phones as before. The report gives both reaches from the doors' own flash."""
    summary, _report = small_day
    assert summary["online_doors"] > 0
    assert summary["online_pushes"] > 0
    assert summary["online_messages_refused"] == 0
    assert summary["revocation_doors_online"] > 0
    assert summary["revocation_doors_online_reached"] == summary["revocation_doors_online"]
    assert summary["max_revocation_reach_online_s"] == 0
    assert (
        summary["revocation_doors_offline"] + summary["revocation_doors_online"]
        == (summary["revocation_doors"])
    )


def test_partners_work_through_the_server_and_nowhere_else(
    small_day: tuple[dict[str, Any], Path],
) -> None:
    """Issue 15: partner workers enrol, log in and open with keys the server signed with the
    partner issuer key; the doors, not the simulation, keep them to their windows and doors."""
    summary, _ = small_day
    refused = summary["partner_refusals"]
    assert summary["partner_logins"] == summary["partner_workers"] >= 4
    # Every opening at the doors reached the server through the partner phones' uploads.
    assert summary["partner_openings"] == summary["partner_openings_at_doors"] > 0
    assert summary["partner_refusals_outside_window"] >= 1
    assert refused["partner_late:outside_window"] == 1
    # A home lock: the app has no key for it, and the lock refuses the partner credential.
    assert summary["partner_home_openings"] == 0
    assert summary["partner_home_attempts"] == 2
    assert refused["partner_home_app:app.unknown_door"] == 1
    assert refused["partner_home:unknown_issuer_key"] == 1
    # No partner key signed outside the server.
    assert summary["partner_credentials_seen"] > 0
    assert summary["partner_keys_signed_outside_server"] == 0
    # The association's block reached every affected phone within a check-in, and the door
    # refused the key held from before the block.
    block = summary["partner_block"]
    assert block["workers_affected"] == block["workers_told"] > 0
    assert summary["partner_block_reach_s"] is not None
    assert 0 <= summary["partner_block_reach_s"] <= CHECKIN_EVERY.total_seconds()
    assert summary["partner_openings_after_block"] == 0
    assert refused["partner_after_block:app.unknown_door"] == 1
    assert refused["partner_after_block_kept_key:denylisted"] == 1
    # The errand: that stairwell, for that period only.
    errand = summary["partner_errand"]
    assert errand["doors_in_keys"] == [errand["entrance"]]
    assert errand["keys_until"] == [errand["period"][1]]
    assert refused["partner_errand_early:not_yet_valid"] == 1
    assert refused["partner_errand_other:app.unknown_door"] == 1


def test_the_day_signs_no_credential_itself() -> None:
    """The day's modules never sign a credential, a proof or a time token (the server does)."""
    signing = re.compile(
        r"\b(issue_credential|issue_freshness|issue_time_token|active_issuer_key)\b"
    )
    found = [p.name for p in sorted(SIM.glob("day*.py")) if signing.search(p.read_text())]
    assert found == []


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
