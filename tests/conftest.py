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
