"""``carekey bench protocol``: the door protocol's figures, one JSON line last, within the
targets that ``make bench`` reports (docs/benchmarks.md) and docs/protocol.md states."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from carekey.cli.main import app
from carekey.sim.bench_all import machine, render


def test_the_command_reports_the_unlock_within_its_targets() -> None:
    result = CliRunner().invoke(app, ["bench", "protocol"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    figures = json.loads(lines[-1])
    assert lines[0] == "CareKey door protocol benchmark"

    # The targets (docs/benchmarks.md): a credential fits, an unlock is two round trips.
    assert figures["credential_bytes"] <= 300
    assert figures["unlock_round_trips"] <= 2
    assert figures["unlock_bytes_on_air"] <= 1500
    assert figures["modeled_unlock_ms"] <= 1000
    # The shift bundle phones really present: a longer credential, the same exchange.
    assert figures["bundle_presentation_bytes"] > figures["credential_bytes"]
    assert figures["unlock_round_trips_bundle"] == figures["unlock_round_trips"]
    assert figures["unlock_bytes_on_air_bundle"] <= 1500
    assert figures["modeled_unlock_ms_bundle"] <= 1000
    assert figures["merkle_sha256_blocks_bundle"] > 0
    # Three signature checks at the lock: the credential's, the proof of freshness's and the
    # device key's.
    assert figures["lock_signature_verifications_per_unlock"] == 3
    assert figures["lock_signature_verifications_bundle"] == 3
    # A lock far behind a full denylist still opens within the target, and catches up.
    assert figures["denylist_catch_up_entries"] >= 65_535
    assert figures["denylist_catch_up_air_s"] > 0
    assert figures["unlock_ms_with_catch_up"] <= 1000
    assert figures["unlock_ms_with_catch_up"] > figures["modeled_unlock_ms_bundle"]
    # A smaller MTU costs more bytes on air and more time, not more round trips.
    assert figures["unlock_bytes_on_air_mtu23"] > figures["unlock_bytes_on_air"]
    assert figures["modeled_unlock_ms_mtu23"] > figures["modeled_unlock_ms"]
    assert figures["issuer_signs_per_s"] > 0
    assert figures["raw_ed25519_signs_per_s"] > 0

    # make bench renders these very keys; every protocol row is met.
    block = render({"date": "-", "machine": {**machine(), "load_before": 0}, "protocol": figures})
    table = block.split("| door protocol")[1].split("<details>")[0]
    round_trips = figures["unlock_round_trips"]
    assert f"| round trips after connecting | {round_trips} | ≤ 2 | yes |" in table
    assert "**no**" not in table
