"""Shared test configuration.

The suite runs with ``pytest -n 2`` on 2-core machines: each worker gets one
BLAS thread (tiny linear-algebra problems are slower with more threads when the
cores are already busy) and TensorFlow keeps quiet.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

from threadpoolctl import threadpool_limits  # noqa: E402

_BLAS_LIMIT = threadpool_limits(limits=1, user_api="blas")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sklearn  # noqa: E402

# SKLEARN_MBM_TEST_TRANSFORM_OUTPUT=pandas runs every test under
# sklearn.set_config(transform_output="pandas"), a common notebook setting
# that internal steps must not depend on (.ci/run has a pass with it).
_TRANSFORM_OUTPUT = os.environ.get("SKLEARN_MBM_TEST_TRANSFORM_OUTPUT")


@pytest.fixture(autouse=True)
def _global_transform_output():
    if not _TRANSFORM_OUTPUT:
        yield
        return
    with sklearn.config_context(transform_output=_TRANSFORM_OUTPUT):
        yield


@pytest.fixture
def script_env(tmp_path):
    """The environment of an example, page or README script run in a
    subprocess (test_examples, test_docs): one BLAS thread each (they run
    in parallel under pytest-xdist), the checkout under test first on the
    path (installed or not), Keras and matplotlib caches in ``tmp_path``."""
    from pathlib import Path

    env = dict(os.environ)
    env.update(
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=os.pathsep.join(
            [
                str(Path(__file__).resolve().parents[1]),
                *filter(None, [os.environ.get("PYTHONPATH")]),
            ]
        ),
        KERAS_HOME=str(tmp_path / "keras"),
        MPLCONFIGDIR=str(tmp_path / "matplotlib"),
    )
    return env


@pytest.fixture
def blobs():
    """Two informative numeric modalities (columns 0-3, 4-9) and a noise
    modality (10-12), 90 rows of 3 classes (test_fusion, test_weight_search)."""
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], 30)
    a = rng.normal(size=(90, 4)) + y[:, None]
    b = rng.normal(size=(90, 6)) * 10 + 5 * y[:, None]
    noise = rng.normal(size=(90, 3))
    return np.hstack([a, b, noise]), y
