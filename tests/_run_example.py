"""Run one gallery example the way the smoke tests do: small and quick.

Usage: ``python tests/_run_example.py EXAMPLE [OVERRIDES_JSON]``.

The examples are written for readers, without any switch for the tests:
they load the bundled 600-record sample and train for as many epochs as the
results need. To keep the test suite quick, this runner

- makes ``load_av_digits`` return 150 of the 600 records (the same rows for
  every example: a seeded permutation), whether the example imports it from
  ``sklearn_mbm`` or ``sklearn_mbm.datasets``;
- replaces, in the example's source, each ``old`` text by ``new`` (smaller
  grids, fewer epochs), from a JSON object ``{"old": "new"}``; an ``old`` that
  does not occur is an error, so an override cannot go stale silently;

then runs the source as ``__main__``, as ``python EXAMPLE`` would.
"""

import json
import sys
from pathlib import Path

import numpy as np

import sklearn_mbm
import sklearn_mbm.datasets

N_RECORDS = 150


def _subsampled(load):
    def load_av_digits(return_X_y=False, as_frame=True):
        bunch = load(as_frame=as_frame)
        keep = np.random.RandomState(0).permutation(len(bunch.target))[:N_RECORDS]

        def rows(table):  # a smaller data set, indexed 0 .. N_RECORDS - 1
            if hasattr(table, "iloc"):
                return table.iloc[keep].reset_index(drop=True)
            return table[keep]

        for key in ("data", "target", "frame"):
            if bunch.get(key) is not None:
                bunch[key] = rows(bunch[key])
        return (bunch.data, bunch.target) if return_X_y else bunch

    load_av_digits.__doc__ = load.__doc__
    return load_av_digits


def main(example, overrides):
    source = Path(example).read_text(encoding="utf-8")
    for old, new in overrides.items():
        if old not in source:
            raise SystemExit(f"override {old!r} does not occur in {example}")
        source = source.replace(old, new)
    small = _subsampled(sklearn_mbm.datasets.load_av_digits)
    sklearn_mbm.datasets.load_av_digits = small
    sklearn_mbm.load_av_digits = small  # skips the package's lazy look-up
    sys.argv = [example]
    code = compile(source, example, "exec")
    exec(code, {"__name__": "__main__", "__file__": example})


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
