"""``carekey bench soak``: the RSS fit, the report's shape, and a tiny run end to end."""

from __future__ import annotations

from typing import Any

import pytest

from carekey.sim import bench_soak
from carekey.sim.soak_load import rss_slope, warmup_s, worker_pids


def test_rss_slope_is_mb_per_minute_after_the_warmup() -> None:
    warm = [(t, 100.0 + t) for t in range(0, 120, 10)]  # steep while caches fill
    steady = [(120.0 + 30 * i, 250.0 + 0.5 * i) for i in range(10)]  # 0.5 MB per 30 s
    assert rss_slope(warm + steady, after_s=120) == pytest.approx(1.0)


def test_rss_slope_needs_two_samples_at_different_times() -> None:
    assert rss_slope([(10.0, 5.0)], after_s=0) is None
    assert rss_slope([(10.0, 5.0), (10.0, 6.0)], after_s=0) is None
    assert rss_slope([(10.0, 5.0), (200.0, 6.0)], after_s=120) is None


def test_warmup_is_two_minutes_or_half_a_short_run() -> None:
    assert warmup_s(600) == 120
    assert warmup_s(60) == 30


def test_worker_pids_without_children_is_the_process_itself() -> None:
    import os

    assert worker_pids(os.getpid()) == [os.getpid()]


def test_summary_fits_each_worker_and_drops_the_samples() -> None:
    figures: dict[str, Any] = {
        "errors": 0,
        "p99_ms": {"bundle": 12.0},
        "rss_samples": {
            "worker_1": [[0, 150], [120, 200], [180, 200], [240, 200]],
            "worker_2": [[0, 150], [120, 200], [180, 203], [240, 206]],
        },
    }
    result = bench_soak.summary(figures, duration_s=240)
    assert "rss_samples" not in result
    assert result["rss_growth_mb_per_min"] == {"worker_1": 0.0, "worker_2": 3.0}
    assert result["rss_mb_at_fit_start"] == {"worker_1": 200.0, "worker_2": 200.0}
    assert result["rss_mb_at_end"] == {"worker_1": 200.0, "worker_2": 206.0}
    assert result["rss_within_target"] is False
    assert result["p99_ms"] == {"bundle": 12.0}


def test_a_tiny_soak_runs_end_to_end_on_sqlite() -> None:
    lines: list[str] = []
    result = bench_soak.run(
        database_url=None, echo=lines.append, minutes=0.05, rate=10, employees=4, doors=3
    )
    assert result["errors"] == 0, result["error_samples"]
    assert result["requests"] > 0
    assert set(result["rss_growth_mb_per_min"]) == {"worker_1", "worker_2"}
    assert set(result["p99_ms"]) <= {"login", "bundle", "heartbeat", "events", "admin"}
    assert result["p99_ms"]
    assert any("req/s" in line for line in lines)
