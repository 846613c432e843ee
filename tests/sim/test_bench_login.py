"""Smoke test of ``carekey bench login``: tiny sizes, SQLite, a real server and load process.

No timing assertions: this checks that the benchmark runs end to end and reports sane figures.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from carekey.sim import bench_login
from carekey.sim.cpumeter import CpuMeter

REQUIRED = (
    "key_bundles_per_s",
    "p99_ms_at_200_per_s",
    "doors_per_login",
    "password_checks_per_s",
    "healthz_per_s",
    "ingest_events_per_s",
)


def test_run_reports_every_figure_on_sqlite() -> None:
    lines: list[str] = []
    result = bench_login.run(
        database_url=None,
        echo=lines.append,
        employees=4,
        doors=9,
        duration=1.0,
        rate=10.0,
        saturation_s=1.0,
        saturation_concurrency=4,
        healthz_s=0.5,
        ingest_events=1000,
        workers=1,
    )
    for key in REQUIRED:
        assert key in result, key
    assert result["doors_per_login"] == 9  # 3 citizens x (home lock, entrance, gate)
    assert result["logins"] == 4
    assert result["login_errors"] == 0
    assert result["key_bundles_per_s"] > 0
    assert result["saturation_errors"] == 0
    assert result["errors_at_rate"] == 0
    assert 0 < result["p50_ms_at_rate"] <= result["p99_ms_at_rate"]
    assert result["p99_ms_at_200_per_s"] == -1.0  # only reported when the rate is 200/s
    assert result["password_checks_per_s"] > 0
    assert result["healthz_per_s"] > 0
    assert result["ingest_events_stored"] == 1000
    assert result["ingest_events_per_s"] > 0
    assert any("saturation" in line for line in lines)
    if CpuMeter.available():  # where the CPU went (Linux): the server did the work
        assert result["server_cpu_ms_per_bundle"] > 0
        assert result["loadgen_cpu_ms_per_bundle"] >= 0
        assert result["busy_cores_saturation"] > 0
        assert result["server_cpu_us_per_event"] > 0
        assert "postgres_cpu_ms_per_bundle" not in result  # SQLite: no database process
        assert any(line.strip().startswith("CPU ms per bundle: server") for line in lines)
    json.dumps(result)  # one JSON line for the CLI


def test_cli_command_prints_json_as_last_line(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(**kwargs: Any) -> dict[str, float | int]:
        seen.update(kwargs)
        kwargs["echo"]("working")
        return dict.fromkeys(REQUIRED, 1)

    monkeypatch.setattr(bench_login, "run", fake_run)
    app = typer.Typer()
    app.command()(bench_login.cli_command)
    result = CliRunner().invoke(
        app,
        [
            "--database-url", "sqlite:///x.db", "--employees", "2", "--doors", "3",
            "--duration", "4", "--rate", "5",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == dict.fromkeys(REQUIRED, 1)
    assert seen["database_url"] == "sqlite:///x.db"
    assert (seen["employees"], seen["doors"], seen["duration"], seen["rate"]) == (2, 3, 4.0, 5.0)


def test_refuses_nonsense_sizes() -> None:
    with pytest.raises(ValueError, match="positive"):
        bench_login.run(database_url=None, employees=0)
