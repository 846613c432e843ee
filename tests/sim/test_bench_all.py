"""``make bench`` rewrites only its own block of docs/benchmarks.md, with every figure."""

from __future__ import annotations

from pathlib import Path

from carekey.sim.bench_all import END, START, machine, render, write

RESULTS = {
    "date": "2026-11-26",
    "machine": {
        "cpus": 2,
        "cpu": "Test CPU",
        "python": "3.11",
        "system": "Linux",
        "load_before": 0.5,
    },
    "protocol": {
        "credential_bytes": 199,
        "unlock_round_trips": 2,
        "unlock_bytes_on_air": 777,
        "unlock_bytes_on_air_bundle": 939,
        "modeled_unlock_ms": 273.3,
        "issuer_signs_per_s": 15000,
        "raw_ed25519_signs_per_s": 40000,
    },
    "login_sqlite": {"key_bundles_per_s": 120.5, "ingest_events_per_s": 7000.0},
    "login_postgresql": {"key_bundles_per_s": 210.0, "p99_ms_at_200_per_s": 180.0},
    "web_sqlite": {"p95_ms": {"dashboard": 36.4}},
    "day_sqlite": {"wall_s": 67.2, "events_lost": 0, "max_revocation_reach_online_s": 0.0},
    "online": {"controllers": 1500, "revocation_ack_p99_s": 2.9, "revocation_ack_max_s": 3.1},
}


def test_render_reports_figures_and_whether_targets_are_met() -> None:
    block = render(RESULTS)
    assert block.startswith(START)
    assert block.endswith(END)
    assert "| key bundles per second (saturation) | 120.5 | 210.0 | ≥ 200 (PG) | yes |" in block
    assert "| p99 ms at 200 bundles/s | — | 180.0 | ≤ 250 (PG) | yes |" in block
    assert "| web p95 ms: dashboard | 36.4 | — | ≤ 200 | yes |" in block
    assert "| sim day: events_lost | 0 | — | 0 | yes |" in block
    assert "| single-door credential bytes | 199 | ≤ 300 | yes |" in block
    assert "| online (1500 controllers): revocation_ack_p99_s | 2.9 | — | ≤ 5 | yes |" in block
    assert "| sim day: max_revocation_reach_online_s | 0.0 | — | — | — |" in block
    assert "Test CPU" in block


def test_write_replaces_only_the_generated_block(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Method\n\nHand-written.\n", encoding="utf-8")
    write(RESULTS, doc)
    first = doc.read_text(encoding="utf-8")
    assert first.index(START) < first.index("## Method")
    slower = {**RESULTS, "login_postgresql": {"key_bundles_per_s": 90.0}}
    write(slower, doc)
    second = doc.read_text(encoding="utf-8")
    assert second.count(START) == 1
    assert "| key bundles per second (saturation) | 120.5 | 90.0 | ≥ 200 (PG) | **no** |" in second
    assert "Hand-written." in second


def test_machine_describes_this_machine() -> None:
    info = machine()
    assert info["cpus"] >= 1
    assert info["python"].count(".") == 2
