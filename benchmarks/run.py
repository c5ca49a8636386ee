"""Run the benchmark suite and print one table of ratios.

Every benchmark measures a candidate against a baseline side by side in the
same run (so a slow or busy machine slows both alike) and reports their ratio
with its target. See ``benchmarks/README.md`` for how to read each row.

Each benchmark runs in its own fresh Python process (TensorFlow loaded by one
does not weigh on the next; a failing one does not stop the table).

Run::

    python benchmarks/run.py                  # everything (several minutes)
    python benchmarks/run.py --quick          # smaller sizes, fewer repeats
    python benchmarks/run.py --only audio,cache
    python benchmarks/run.py --json results.json
    python benchmarks/run.py --rst docs/_includes/benchmark_table.rst

Benchmark names: import, memory, cache, audio, image, dask, embedders,
partitions.
"""

import argparse
import contextlib
import importlib
import inspect
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MARKER = "BENCHMARK-RESULT "

# name -> (module, what it compares, {"quick": kwargs/argv, "full": ...})
BENCHMARKS = {
    "import": "bench_import",
    "memory": "bench_memory",
    "cache": "bench_fusion_cache",
    "audio": "bench_audio",
    "image": "bench_image",
    "dask": "bench_dask",
    "embedders": "bench_embedders",
    "partitions": "bench_partitions",
}

# Keyword arguments for run() of benchmarks whose run() has no ``quick``.
RUN_KWARGS = {
    "cache": {"quick": {"values": (0.0, 1.0), "repeats": 3}, "full": {}},
}
# Command-line arguments for benchmarks that only have main().
MAIN_ARGV = {
    "image": {"quick": ["--n-images", "64", "--repeats", "1"], "full": []},
    "audio": {"quick": [], "full": []},
}
# (baseline, candidate) labels of benchmarks that only have main().
MAIN_LABELS = {
    "image": (
        "bare Keras model.predict, pre-decoded",
        "ImageFeatureExtractor on PNG paths",
    ),
    "audio": ("per-clip librosa.feature calls", "AudioFeatureExtractor.transform"),
}
# Labels and measurement keys for run() results that do not name them.
RUN_LABELS = {
    "cache": {
        "baseline": "cross_validate of one weight candidate",
        "candidate": "GridSearchCV, k candidates, memory=",
        "baseline_s": "one_cv_s",
        "candidate_s": "grid_cached_s",
    },
}
# Regexes reading (baseline seconds, candidate seconds, details) from a main().
MAIN_VALUES = {
    "image": {
        "baseline_s": r"model\.predict[^:\n]*:\s*([0-9.]+) s",
        "candidate_s": r"extractor\.transform[^:\n]*:\s*([0-9.]+) s",
        "cpu_ratio": r"CPU seconds:.*ratio ([0-9.]+)",
        "max_abs_diff": r"max abs difference of outputs:\s*([0-9.eE+-]+)",
    },
}
STANDARD_KEYS = {
    "baseline",
    "candidate",
    "baseline_s",
    "candidate_s",
    "baseline_mb",
    "candidate_mb",
    "ratio",
    "target",
    "output",
}


# --------------------------------------------------------------------------
# child side: run one benchmark, print its rows as JSON
# --------------------------------------------------------------------------


def _rows(name, result):
    """A run() result as {row name: row dict}: one row, or a dict of rows."""
    if isinstance(result, dict) and "ratio" in result:
        return {name: result}
    if isinstance(result, dict) and all(
        isinstance(row, dict) and "ratio" in row for row in result.values()
    ):
        return result
    raise TypeError(f"benchmark {name!r} returned no ratio: {result!r}")


def _parse_main_output(text):
    """Rows from the printed output of a main(): ``ratio: X (target <= Y)``."""
    rows = {}
    for i, match in enumerate(
        re.finditer(r"ratio[^:\n]*:\s*([0-9.]+)\s*\(target\s*<=\s*([0-9.]+)", text)
    ):
        rows[f"#{i}"] = {"ratio": float(match[1]), "target": float(match[2])}
    if not rows:
        raise ValueError("no 'ratio: X (target <= Y)' line in the output")
    return rows


def run_one(name, quick):
    """Import and run one benchmark in this process; return its rows."""
    sys.path[:0] = [str(HERE), str(REPO)]
    module = importlib.import_module(BENCHMARKS[name])
    mode = "quick" if quick else "full"
    start = time.perf_counter()
    if hasattr(module, "run"):
        params = inspect.signature(module.run).parameters
        if "quick" in params:
            result = module.run(quick=quick)
        else:
            result = module.run(**RUN_KWARGS.get(name, {}).get(mode, {}))
        rows = _rows(name, result)
        for row in rows.values():
            for key, value in RUN_LABELS.get(name, {}).items():
                if key.endswith("_s"):
                    if value in row:
                        row.setdefault(key, row.pop(value))
                else:
                    row.setdefault(key, value)
    else:  # only a main(): run it as its command line does, read its output
        argv = MAIN_ARGV.get(name, {}).get(mode, [])
        sys.argv = [module.__file__, *argv]
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            module.main()
        text = buffer.getvalue()
        rows = _parse_main_output(text)
        baseline, candidate = MAIN_LABELS.get(name, ("", ""))
        rows = {
            (name if len(rows) == 1 else f"{name}{key}"): {
                "baseline": baseline,
                "candidate": candidate,
                **row,
                "output": text,
            }
            for key, row in rows.items()
        }
        if len(rows) == 1:
            for key, pattern in MAIN_VALUES.get(name, {}).items():
                match = re.search(pattern, text)
                if match:
                    rows[name][key] = float(match[1])
    for row in rows.values():
        row.setdefault("wall_s", time.perf_counter() - start)
    return rows


# --------------------------------------------------------------------------
# parent side: one child per benchmark, then the table
# --------------------------------------------------------------------------


def run_child(name, quick, timeout):
    """Run benchmark ``name`` in a fresh process; return (rows, error)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = [sys.executable, __file__, "--child", name]
    if quick:
        command.append("--quick")
    try:
        out = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    for line in reversed(out.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :]), None
    tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
    return None, " | ".join(tail) or f"exit status {out.returncode}"


def _value(row, side):
    """A row's baseline or candidate measurement with its unit."""
    for suffix, unit, scale in (("_s", "s", 1), ("_mb", "MB", 1)):
        key = f"{side}{suffix}"
        if key in row:
            return f"{row[key] * scale:.3g} {unit}"
    return ""


def format_table(results, errors):
    header = ["benchmark", "baseline", "candidate", "base", "cand", "ratio", "target"]
    lines = []
    for name, rows in results.items():
        for row_name, row in rows.items():
            ok = row["ratio"] <= row["target"]
            lines.append(
                [
                    row_name,
                    str(row.get("baseline", ""))[:44],
                    str(row.get("candidate", ""))[:44],
                    _value(row, "baseline"),
                    _value(row, "candidate"),
                    f"{row['ratio']:.3f}",
                    f"<= {row['target']:g} {'OK' if ok else 'MISSED'}",
                ]
            )
    for name, error in errors.items():
        lines.append([name, f"not run: {error}"[:100], "", "", "", "", ""])
    widths = [
        max(len(header[i]), *(len(line[i]) for line in lines if line[i]))
        if lines
        else len(header[i])
        for i in range(len(header))
    ]
    widths[1] = min(widths[1], 44)

    def fmt(cells):
        if cells[2:] == ["", "", "", "", ""]:
            return f"{cells[0]:<{widths[0]}}  {cells[1]}"
        return "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    notes = []
    for rows in results.values():
        for row_name, row in rows.items():
            extra = {k: v for k, v in row.items() if k not in STANDARD_KEYS}
            text = ", ".join(
                f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in extra.items()
            )
            notes.append(f"  {row_name}: {text}")
    table = [fmt(header), rule, *(fmt(line) for line in lines)]
    return "\n".join([*table, "", "details:", *notes])


def format_rst(results, errors, mode, seconds):
    """The table as a dated reST list-table, for the contributor docs."""
    import datetime

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    option = " --quick" if mode == "quick" else ""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    lines = [
        f"Generated by ``python benchmarks/run.py{option} --rst ...`` on"
        f" {datetime.date.today().isoformat()} at commit {commit}: {mode} run,"
        f" {os.cpu_count()} cores, load average {load:.1f} at the end,"
        f" {seconds:.0f} s in all.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - row",
        "     - baseline / candidate",
        "     - measurements",
        "     - ratio",
        "     - target",
    ]
    for rows in results.values():
        for row_name, row in rows.items():
            ok = "OK" if row["ratio"] <= row["target"] else "MISSED"
            base, cand = _value(row, "baseline"), _value(row, "candidate")
            lines += [
                f"   * - ``{row_name}``",
                f"     - {row.get('baseline', '')} / {row.get('candidate', '')}",
                f"     - {base} / {cand}" if base or cand else "     - --",
                f"     - {row['ratio']:.3f}",
                f"     - <= {row['target']:g} {ok}",
            ]
    for name, error in errors.items():
        lines += [
            f"   * - ``{name}``",
            f"     - not run: {error}",
            "     - --",
            "     - --",
            "     - --",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated subset of {','.join(BENCHMARKS)}",
    )
    parser.add_argument("--quick", action="store_true", help="smaller, faster runs")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument(
        "--rst", help="also write the table, dated, as reST to this file"
    )
    parser.add_argument(
        "--timeout", type=int, default=900, help="seconds allowed per benchmark"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:  # inside the fresh process of one benchmark
        rows = run_one(args.child, args.quick)
        print(MARKER + json.dumps(rows, default=str), flush=True)
        return rows

    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {list(BENCHMARKS)}")
    results, errors = {}, {}
    started = time.perf_counter()
    for name in names:
        if not (HERE / f"{BENCHMARKS[name]}.py").exists():
            errors[name] = f"benchmarks/{BENCHMARKS[name]}.py is missing"
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        rows, error = run_child(name, args.quick, args.timeout)
        seconds = time.perf_counter() - start
        print(f"  {name}: {seconds:.0f} s", file=sys.stderr, flush=True)
        if error:
            errors[name] = error
        else:
            results[name] = rows
    mode = "quick" if args.quick else "full"
    print(f"sklearn-mbm benchmarks ({mode}), ratios measured side by side")
    print(format_table(results, errors))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if args.rst:
        seconds = time.perf_counter() - started
        Path(args.rst).write_text(format_rst(results, errors, mode, seconds))
    return results, errors


if __name__ == "__main__":
    main()
