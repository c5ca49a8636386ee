"""Smoke test of ``benchmarks/bench_av_digits.py`` on a tiny subset of the real
audio-visual digits set (20 records per speaker, 2 epochs, weights in {0, 1})."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "fsdd" / "recordings").is_dir(),
    reason=f"the real FSDD/MNIST data folder {DATA} is absent",
)


def _bench():
    """The benchmark script as a module (benchmarks/ is not a package)."""
    path = REPO / "benchmarks" / "bench_av_digits.py"
    spec = importlib.util.spec_from_file_location("bench_av_digits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _bench()


def test_default_data_home_is_shared_beside_the_repository(bench):
    assert bench.DEFAULT_DATA_HOME == DATA


@needs_data
def test_split_holds_out_whole_speakers(bench):
    X_train, y_train, X_test, y_test = bench.load_split(DATA, n_per_speaker=20)
    assert set(X_test["speaker"]) == set(bench.TEST_SPEAKERS)
    assert set(X_train["speaker"]).isdisjoint(bench.TEST_SPEAKERS)
    assert len(X_train) == 4 * 20 and len(X_test) == 2 * 20
    assert len(y_train) == len(X_train) and len(y_test) == len(X_test)
    # 20 of 50 per digit and speaker, interleaved: every digit twice.
    assert np.bincount(y_train, minlength=10).tolist() == [8] * 10


@needs_data
def test_unknown_speaker_or_setting_raises(bench):
    with pytest.raises(ValueError, match="Unknown test speakers"):
        bench.load_split(DATA, test_speakers=("nobody",), n_per_speaker=5)
    with pytest.raises(ValueError, match="Unknown settings"):
        bench.run(DATA, settings={"boosting"}, n_per_speaker=5, verbose=False)


@needs_data
def test_run_on_a_tiny_subset(bench):
    rows = bench.run(
        DATA, n_per_speaker=20, weight_values=(0.0, 1.0), epochs=2, verbose=False
    )
    settings = [row["setting"] for row in rows]
    assert len(settings) == 9 and len(set(settings)) == 9
    assert settings[0].startswith("image") and settings[-1].endswith("'attention'")
    assert settings[2] == "audio (MFCC stats, 3 time segments) + scaler + LR"
    for row in rows:
        assert 0.0 <= row["accuracy"] <= 1.0 and 0.0 <= row["f1_macro"] <= 1.0
        assert row["wall_s"] > 0 and row["cpu_s"] >= 0
        if row["weights"] is not None:
            assert set(row["weights"]) == {"image", "audio", "text"}
            assert sum(row["weights"].values()) == pytest.approx(1.0)
    by_setting = dict(zip(settings, rows))
    # 80 training digits are enough for pixels to beat chance (0.1) clearly.
    assert by_setting["image (pixels) + LR"]["accuracy"] > 0.3
    # The searched weights are a point of the {0, 1} grid, as shares.
    searched = by_setting["concat fusion + LR, searched weights"]
    shares = set(np.round(list(searched["weights"].values()), 6))
    assert shares <= {0.0, 1.0, 0.5, round(1 / 3, 6)}
    assert "grouped CV accuracy" in searched["details"]
    assert by_setting["late fusion, soft (equal weights)"]["weights"] == {
        name: pytest.approx(1 / 3) for name in ("image", "audio", "text")
    }
    table = bench.format_table(rows)
    assert table.count("\n") == 1 + len(rows)
    assert "| concat fusion + LR, searched weights |" in table
