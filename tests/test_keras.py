"""Tests for the lazy Keras glue, ``sklearn_mbm._keras``."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Loads TensorFlow through our lazy import and runs one operation (the first
# operation is when TensorFlow 2.21 probes CUDA), then reports the level.
SCRIPT = """
import os
import numpy as np
from sklearn_mbm._keras import import_keras
keras = import_keras()
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
model.predict_on_batch(np.zeros((1, 4), np.float32))
print("level", os.environ["TF_CPP_MIN_LOG_LEVEL"])
"""


def _run(level):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


def _has_nvidia_driver():
    from sklearn_mbm._keras import _NVIDIA_DRIVER_FILES

    return any(os.path.exists(path) for path in _NVIDIA_DRIVER_FILES)


def test_tensorflow_quiet_when_we_load_it():
    stdout, stderr = _run(None)
    expected = "2" if _has_nvidia_driver() else "3"
    assert f"level {expected}" in stdout
    assert "cuInit" not in stderr
    # no C++ log line at WARNING or ERROR level ("W0000 ...", "E0000 ...")
    lines = stderr.splitlines()
    assert not [line for line in lines if line[:1] in "WEF" and line[1:5].isdigit()]


def test_user_log_level_kept():
    stdout, stderr = _run("0")
    assert "level 0" in stdout
    if not _has_nvidia_driver():
        # the user asked for everything: TensorFlow's own lines still come
        assert "cuInit" in stderr
