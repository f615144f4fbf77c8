import os

# One BLAS thread per test process: with pytest-xdist's workers on a 2-core machine, OpenBLAS
# threads busy-wait on each other and a small matmul can stall for seconds.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

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
