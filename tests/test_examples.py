"""Smoke tests of the example gallery: every ``examples/**/plot_*.py`` runs.

Each example runs in a fresh interpreter with the non-interactive matplotlib
backend, through ``tests/_run_example.py``: on 150 of the bundled sample's
600 records, with the smaller grids and fewer epochs of ``SMALLER`` below
(the examples themselves carry no switch for the tests). An example whose
imports fail (a module that does not exist yet) fails here.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Long-running, but run in CI like every test (see pyproject markers).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "examples").glob("**/plot_*.py"))
RUNNER = Path(__file__).resolve().parent / "_run_example.py"

# Smaller settings for the smoke run: {example: {text in it: replacement}}.
SMALLER = {
    "basics/plot_modality_importance.py": {"n_repeats=10": "n_repeats=3"},
    "fusion/plot_late_fusion_regression.py": {"epochs=60": "epochs=15"},
    "fusion/plot_missing_modalities.py": {
        "fractions = (0.0, 0.2, 0.4, 0.6, 0.8)": "fractions = (0.0, 0.5)"
    },
    # a few epochs of a tiny run: compiling the training step costs more
    "fusion/plot_neural_fusion.py": {
        "epochs = 60": "epochs = 3",
        "random_state=0,\n": "random_state=0,\n    run_eagerly=True,\n",
    },
    "fusion/plot_tune_fusion_weights.py": {
        "values = (0.0, 0.5, 1.0)": "values = (0.0, 1.0)",
        "text_values = (0.0, 0.25, 0.5, 1.0, 2.0)": "text_values = (0.0, 1.0)",
    },
    "semi_supervised/plot_few_labels.py": {
        "label_counts = (2, 5, 10, 20)": "label_counts = (2, 5)"
    },
}


def test_gallery_is_not_empty():
    assert EXAMPLES, f"no examples found under {REPO / 'examples'}"


def test_smaller_settings_name_existing_examples():
    names = {p.relative_to(REPO / "examples").as_posix() for p in EXAMPLES}
    assert set(SMALLER) <= names


def test_examples_carry_no_test_switch():
    # readers see the examples' code: no environment switch for the tests
    for example in EXAMPLES:
        assert "SKLEARN_MBM_EXAMPLE_FAST" not in example.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[str(p.relative_to(REPO / "examples")) for p in EXAMPLES]
)
def test_example_runs(example, tmp_path, script_env):
    smaller = SMALLER.get(example.relative_to(REPO / "examples").as_posix(), {})
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(example), json.dumps(smaller)],
        cwd=tmp_path,
        env=script_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        f"{example.relative_to(REPO)} failed (exit {proc.returncode}):\n"
        f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-5000:]}"
    )
