"""Smoke tests of the example gallery: every ``examples/**/plot_*.py`` runs.

Each example runs in a fresh interpreter, as a reader would run it, with the
non-interactive matplotlib backend and ``SKLEARN_MBM_EXAMPLE_FAST=1``, which
the examples read to work on a 150-record subsample with few epochs. An
example whose imports fail (a module that does not exist yet) fails here.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Long-running, but run in CI like every test (see pyproject markers).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "examples").glob("**/plot_*.py"))


def test_gallery_is_not_empty():
    assert EXAMPLES, f"no examples found under {REPO / 'examples'}"


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[str(p.relative_to(REPO / "examples")) for p in EXAMPLES]
)
def test_example_runs(example, tmp_path):
    env = dict(os.environ)
    env.update(
        MPLBACKEND="Agg",
        SKLEARN_MBM_EXAMPLE_FAST="1",
        # Examples run in parallel under pytest-xdist: one BLAS thread each
        # avoids oversubscribing the cores.
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        TF_CPP_MIN_LOG_LEVEL="3",
        # The checkout under test comes first, installed or not.
        PYTHONPATH=os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        # Keep Keras and matplotlib caches out of the home directory.
        KERAS_HOME=str(tmp_path / "keras"),
        MPLCONFIGDIR=str(tmp_path / "matplotlib"),
    )
    proc = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        f"{example.relative_to(REPO)} failed (exit {proc.returncode}):\n"
        f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-5000:]}"
    )
