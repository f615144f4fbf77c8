"""The walkthrough examples run and do what they claim."""

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_scalar_mlp_trains_below_001(capsys):
    loss = _load("scalar_mlp").main()
    assert loss < 0.01
    assert "dc/da = -3.0, dc/db = 2.0" in capsys.readouterr().out


def test_fit_curve_learns_a_sine():
    assert _load("fit_curve").main(steps=600) < 0.05
