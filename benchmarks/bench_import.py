"""Benchmark: the cost of importing sklearn_mbm, against importing scikit-learn.

Each import runs in a fresh Python process (so nothing is cached in
``sys.modules``), timed inside the child around the import statement alone
(interpreter start-up excluded); the best of ``repeats`` runs is kept. Both
statements are timed alternately, so a busy machine slows both alike.

Rows:

- ``import sklearn_mbm`` / ``import sklearn``: the package's top-level import
  is lazy (public names resolve on first access). Target ``<= 1.0``: importing
  the package costs no more than importing scikit-learn.
- ``from sklearn_mbm import <all estimators but the neural one>`` /
  ``import sklearn``: what a typical script pays before its first fit.
  Target ``<= 1.5`` (sklearn + scipy + Pillow + librosa's lazy loader), and
  TensorFlow must not be imported (checked: a failure is an error).

Run: ``python benchmarks/bench_import.py [--repeats 5]``
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BASELINE = "import sklearn"
STATEMENTS = {
    "import": "import sklearn_mbm",
    "import_estimators": (
        "from sklearn_mbm import (AudioFeatureExtractor, FusionTransformer, "
        "ImageFeatureExtractor, LateFusionClassifier, TextFeatureExtractor, "
        "fusion_weight_grid)"
    ),
}
TARGETS = {"import": 1.0, "import_estimators": 1.5}

CHILD = """
import sys, time, json
start = time.perf_counter()
{statement}
seconds = time.perf_counter() - start
heavy = [m for m in ("tensorflow", "keras", "torch") if m in sys.modules]
print(json.dumps({{"seconds": seconds, "heavy": heavy}}))
"""


def time_import(statement):
    """Seconds ``statement`` takes in a fresh interpreter, and heavy modules."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=REPO,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    return report["seconds"], report["heavy"]


def run(quick=False, repeats=None):
    """Return ``{row: {baseline_s, candidate_s, ratio, target, heavy}}``."""
    repeats = repeats or (3 if quick else 5)
    best = {BASELINE: float("inf"), **dict.fromkeys(STATEMENTS.values(), float("inf"))}
    heavy = {}
    for _ in range(repeats):
        for statement in best:
            seconds, loaded = time_import(statement)
            best[statement] = min(best[statement], seconds)
            heavy[statement] = loaded
    results = {}
    for row, statement in STATEMENTS.items():
        if heavy[statement]:
            raise RuntimeError(f"{statement!r} imported {heavy[statement]}")
        results[row] = {
            "baseline": BASELINE,
            "candidate": statement,
            "baseline_s": best[BASELINE],
            "candidate_s": best[statement],
            "ratio": best[statement] / best[BASELINE],
            "target": TARGETS[row],
            "repeats": repeats,
        }
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    results = run(repeats=args.repeats)
    for row, r in results.items():
        verdict = "OK" if r["ratio"] <= r["target"] else "MISSED"
        print(f"{row}: {r['candidate']}")
        print(
            f"  {r['candidate_s'] * 1e3:8.1f} ms vs {r['baseline']}: "
            f"{r['baseline_s'] * 1e3:.1f} ms (best of {r['repeats']})"
        )
        print(f"  ratio {r['ratio']:.3f} (target <= {r['target']}) {verdict}")
    return results


if __name__ == "__main__":
    main()
