"""Tests for ``python -m sklearn_mbm demo`` (sklearn_mbm/__main__.py, _demo.py).

The demo runs in-process on a small stratified subset of the bundled sample
with a coarse weight grid (hidden options), so that these tests stay fast.
"""

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sklearn_mbm import _demo
from sklearn_mbm.__main__ import main

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# a small subset (one record per digit and speaker) and a 7-point weight grid
QUICK = ["--max-samples", "60", "--weight-values", "0", "1"]
ROWS = (
    "image alone",
    "audio alone",
    "text alone",
    "fused, equal weights",
    "fused, best weights*",
)
SCORE = r"(0\.\d{3}|1\.000) ± 0\.\d{3}"


def _check_table(text):
    """Every setting has a row with accuracy and macro F1 as mean ± std."""
    assert "accuracy" in text and "macro F1" in text
    assert "leave-one-speaker-out" in text
    for setting in ROWS:
        line = next((ln for ln in text.splitlines() if ln.startswith(setting)), None)
        assert line is not None, f"no row for {setting!r} in:\n{text}"
        assert len(re.findall(SCORE, line)) == 2, line
    best = next(ln for ln in text.splitlines() if ln.startswith("fused, best"))
    assert re.search(r"image=[\d.]+\s+audio=[\d.]+\s+text=[\d.]+", best)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One run of the command line in-process, writing to the default path."""
    folder = tmp_path_factory.mktemp("demo")
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setattr(sys, "stdout", out)
        mp.setattr(sys, "stderr", err)
        code = main(["demo", *QUICK])
    return code, out.getvalue(), err.getvalue(), folder


def test_demo_prints_table_and_saves_plot(demo_run):
    code, out, err, folder = demo_run
    assert code == 0, err
    _check_table(out)
    png = folder / _demo.DEFAULT_OUTPUT
    assert png.read_bytes().startswith(PNG_MAGIC)
    assert str(png.resolve()) in out
    assert "subset of 60" in out
    assert "Total time" in out


def test_demo_shows_progress_on_stderr(demo_run):
    _, out, err, _ = demo_run
    stages = re.findall(r"^\[(\d)/(\d)\] ", err, flags=re.MULTILINE)
    assert [int(s) for s, _ in stages] == list(range(1, _demo.N_STAGES + 1))
    assert {int(n) for _, n in stages} == {_demo.N_STAGES}
    assert "image alone" in err and "grid search over 7 weight settings" in err
    assert "done (" in err
    # results on stdout, progress on stderr
    assert "[1/" not in out


def test_run_demo_quiet_without_matplotlib(monkeypatch, tmp_path):
    """No matplotlib: the table is still printed and the plot is skipped."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    out, err = io.StringIO(), io.StringIO()
    result = _demo.run_demo(
        output=tmp_path / "plot.png",
        quiet=True,
        max_samples=60,
        weight_values=(0, 1),
        stdout=out,
        stderr=err,
    )
    assert err.getvalue() == ""  # quiet: no progress
    _check_table(out.getvalue())
    assert "Plot skipped: matplotlib is not installed" in out.getvalue()
    assert "pip install sklearn-mbm[plot]" in out.getvalue()
    assert result.plot_path is None
    assert not (tmp_path / "plot.png").exists()
    assert len(result.rows) == len(ROWS)
    assert len(result.search.cv_results_["params"]) == 7
    for row in result.rows:
        for metric in ("accuracy", "f1_macro"):
            mean, std = row[metric]
            assert 0.0 <= mean <= 1.0 and std >= 0.0


@pytest.mark.skipif(not DATA.is_dir(), reason=f"real data folder {DATA} is absent")
def test_full_set_from_local_files(tmp_path, capsys):
    """--full reads the WAV files and MNIST from --data-home (audio as paths)."""
    png = tmp_path / "sub" / "full.png"
    code = main(
        [
            "demo",
            "--full",
            "--data-home",
            str(DATA),
            "--no-download",
            "--output",
            str(png),
            "--quiet",
            *QUICK,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "full set (3000 records), subset of 60" in out
    _check_table(out)
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_missing_full_data_fails_with_a_clear_message(tmp_path, capsys):
    code = main(["demo", "--full", "--data-home", str(tmp_path), "--no-download"])
    err = capsys.readouterr().err
    assert code == 1
    assert "FileNotFoundError" in err
    assert str(tmp_path) in err
    assert "fsdd/recordings" in err


@pytest.mark.parametrize("target", ["under_a_file", "a_folder"])
def test_unwritable_output_fails_before_running(target, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    output = blocker / "plot.png" if target == "under_a_file" else tmp_path
    code = main(["demo", "--output", str(output), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "cannot write the plot" in err
    assert "[1/" not in err  # nothing was run


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--data-home", "x"], "--data-home is used with --full only"),
        (["demo", "--no-download"], "--no-download is used with --full only"),
        (["demo", "--max-samples", "5"], "--max-samples must be at least 20"),
        (["demo", "--no-plot", "--output", "a.png"], "contradict"),
        (["demo", "--n-jobs", "two"], "invalid int value"),
        ([], "required"),
        (["train"], "invalid choice"),
    ],
)
def test_bad_command_lines_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_help_in_a_subprocess():
    """``python -m sklearn_mbm --help`` and ``demo --help`` explain the options."""
    top = subprocess.run(
        [sys.executable, "-m", "sklearn_mbm", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert top.returncode == 0, top.stderr
    assert "demo" in top.stdout
    demo = subprocess.run(
        [sys.executable, "-m", "sklearn_mbm", "demo", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert demo.returncode == 0, demo.stderr
    for option in ("--output", "--full", "--data-home", "--n-jobs", "--quiet"):
        assert option in demo.stdout
    assert "leave-one-speaker-out" in demo.stdout
    # hidden developer options stay hidden
    assert "--max-samples" not in demo.stdout


def test_check_output_accepts_new_folders(tmp_path):
    _demo.check_output(tmp_path / "new" / "deeper" / "plot.png")


def test_format_table_aligns_columns():
    rows = [
        {
            "setting": "a",
            "weights": "-",
            "accuracy": (0.5, 0.1),
            "f1_macro": (0.25, 0.05),
        },
        {
            "setting": "longer setting",
            "weights": "x=1  y=0.5",
            "accuracy": (1.0, 0.0),
            "f1_macro": (1.0, 0.0),
        },
    ]
    text = _demo.format_table(rows, "Header")
    lines = text.splitlines()
    assert lines[0] == "Header"
    assert lines[-2].startswith("a               -           0.500 ± 0.100")
    assert lines[-1].endswith("1.000 ± 0.000  1.000 ± 0.000")
    assert len({line.index("accuracy") for line in lines if "accuracy" in line}) == 1
