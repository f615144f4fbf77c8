import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import ember  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed():
    ember.manual_seed(0)
    yield
