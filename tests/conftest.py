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
