"""Smoke test of ``benchmarks/ops.py --quick``: it runs, and every JSON line it prints parses.

No timing is asserted: benchmarks are never unit tests.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "ops.py"


@pytest.mark.parametrize("extra", [[], ["--no-torch"]], ids=["with_torch", "no_torch"])
def test_ops_benchmark_quick(extra):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--chain", "50", "--repeats", "1", *extra],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    libs = {"ember", "numpy"} | (set() if extra else {"torch"})
    seen = {(r["benchmark"], r["lib"]) for r in rows}
    for bench in ("chain_fwd_bwd", "chain_fwd", "chain_bwd"):
        assert {(bench, lib) for lib in libs - {"numpy"}} <= seen
    for bench in ("matmul", "add"):
        assert {(bench, lib) for lib in libs} <= seen
    for r in rows:
        assert r["value"] > 0 and r["unit"] in ("us/op", "GFLOP/s", "GB/s")
    assert "ember/torch" in proc.stdout  # the table follows the JSON lines
