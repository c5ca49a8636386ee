"""Benchmark: features over the partitions of a manifest on a LocalCluster.

A manifest of records built from ``../shared/data`` (FSDD wav paths, MNIST
test digits written once as PNG files, their simulated transcripts; row
``i`` is record ``i % 3000``), a FusionTransformer (pixels + audio with
``n_segments=3`` + tf-idf) fitted on 2,000 rows. Measured in one run:

- **throughput**: ``transform_to_parquet`` on a ``LocalCluster`` of 2
  single-threaded worker processes, against the machine's own ceiling, two
  independent processes each running the fitted FusionTransformer's
  in-process ``transform`` on half of the same rows (started together,
  timed after a warm-up); one process on all the rows gives the speedups.
  Ratio ``cluster wall / two-process wall`` (target <= 1/0.9: the cluster
  reaches at least 0.9 of the ceiling). The naive ``map_partitions`` (the
  fitted model in a closure, the features gathered to the client) and
  ``ParallelPostFit.transform(...).persist()`` are timed alongside;
- **memory**: each worker's peak RSS after ``transform_to_parquet`` of the
  small and of the large manifest (workers restarted before each), ratio
  large / small (target <= 1.2); the driver's peak RSS against the bytes
  of all the features;
- **exactness**: 5,000 rows written and read back equal the in-process
  ``transform`` bit for bit;
- **kill / resume**: a worker process killed (SIGKILL) in the middle of a
  run: the run completes, the files equal the uninterrupted run's; a driver
  process killed in the middle of a run: a second run writes only the
  missing partitions (counted).

The machine is shared: the ratios (measured side by side) are the figures,
not the seconds.

Run::

    python benchmarks/bench_partitions.py               # 30k / 20k / 100k rows
    python benchmarks/bench_partitions.py --quick       # 6k / 4k / 20k rows
    python benchmarks/bench_partitions.py --rows-small 2000 --rows-large 10000
"""

import argparse
import json
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SR = 8000
N_FIT = 2000
ROWS_PER_PARTITION = 2500
THROUGHPUT_TARGET = 1 / 0.9
MEMORY_TARGET = 1.2


def build_records(folder):
    """The 3,000 records, images written once as PNG files under ``folder``."""
    from PIL import Image

    from sklearn_mbm import fetch_av_digits

    data = fetch_av_digits(data_home=DATA, download_if_missing=False)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(data.data["image"]):
        path = folder / f"{i:04d}.png"
        if not path.exists():
            Image.fromarray(image).save(path)
        paths.append(str(path))
    frame = pd.DataFrame(
        {"image": paths, "audio": data.data["audio"], "text": data.data["text"]}
    )
    return frame, np.asarray(data.target)


def manifest(records, n_rows):
    return records.iloc[np.arange(n_rows) % len(records)].reset_index(drop=True)


def make_fusion():
    from sklearn_mbm import (
        AudioFeatureExtractor,
        FusionTransformer,
        ImageFeatureExtractor,
        TextFeatureExtractor,
    )

    return FusionTransformer(
        [
            ("image", ImageFeatureExtractor("pixels", input_size=14), "image"),
            ("audio", AudioFeatureExtractor(sr=SR, n_segments=3), "audio"),
            ("text", TextFeatureExtractor(), "text"),
        ],
        normalize="block",
    )


def _ddf(frame):
    """Partitions of about ROWS_PER_PARTITION rows, an even number of them
    (two workers: no lone last partition)."""
    import dask.dataframe as dd

    n = 2 * max(1, round(len(frame) / (2 * ROWS_PER_PARTITION)))
    return dd.from_pandas(frame, npartitions=n, sort=False)


def _peak_rss_mb():
    """This process's peak resident memory (VmHWM: a spawned process starts
    afresh, unlike ru_maxrss, which a forked one inherits)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _executing(dask_worker):
    # running tasks, those whose client left included (they run to the end)
    return len(dask_worker.state.executing)


def _wait_until_idle(client, timeout=300):
    deadline = time.monotonic() + timeout
    while any(client.run(_executing).values()) and time.monotonic() < deadline:
        time.sleep(0.1)


# --------------------------------------------------------------------------
# independent processes (the ceiling)
# --------------------------------------------------------------------------


def _half_main(model_path, manifest_path, start, stop, ready, go):
    """Child: warm up, signal ready, wait for go, time transform of its rows."""
    with open(model_path, "rb") as f:
        fusion = pickle.load(f)
    frame = pd.read_parquet(manifest_path).iloc[int(start) : int(stop)]
    fusion.transform(frame.iloc[:200])  # imports, first calls
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.005)
    begin, cpu = time.perf_counter(), time.process_time()
    fusion.transform(frame)
    seconds, cpu = time.perf_counter() - begin, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu": cpu}), flush=True)


def independent_processes(model_path, manifest_path, n_rows, n_processes, tmp):
    """Wall time of ``n_processes`` processes each transforming its share."""
    bounds = np.linspace(0, n_rows, n_processes + 1).astype(int)
    go = Path(tmp) / f"go-{n_processes}"
    children, readies = [], []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env["MKL_NUM_THREADS"] = "1"  # as dask's nanny sets for its workers
    for i in range(n_processes):
        ready = Path(tmp) / f"ready-{n_processes}-{i}"
        readies.append(ready)
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--half",
                    str(model_path),
                    str(manifest_path),
                    str(bounds[i]),
                    str(bounds[i + 1]),
                    str(ready),
                    str(go),
                ],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    while not all(r.exists() for r in readies):
        time.sleep(0.01)
    go.touch()
    results = [
        json.loads(c.communicate()[0].strip().splitlines()[-1]) for c in children
    ]
    return max(r["seconds"] for r in results), sum(r["cpu"] for r in results)


def _cpu_seconds(client):
    """CPU seconds so far of the workers and of this process (the client and
    the LocalCluster's scheduler)."""
    return sum(client.run(time.process_time).values()) + time.process_time()


# --------------------------------------------------------------------------
# the cluster
# --------------------------------------------------------------------------


def _worker_peaks(client):
    return list(client.run(_peak_rss_mb).values())


def naive_map_partitions(fusion, ddf):
    """What a new user writes: the fitted model in a closure, gathered."""
    names = list(fusion.get_feature_names_out())
    meta = pd.DataFrame(np.empty((0, len(names))), columns=names)
    return ddf.map_partitions(
        lambda part: pd.DataFrame(
            fusion.transform(part), columns=names, index=part.index
        ),
        meta=meta,
    ).compute()


def _read(folder):
    import dask.dataframe as dd

    return dd.read_parquet(folder).compute()


def _driver_main(address, model_path, manifest_path, folder):
    """Child: a driver that a test kills in the middle of its run."""
    from distributed import Client

    from sklearn_mbm.distributed import transform_to_parquet

    with open(model_path, "rb") as f:
        fusion = pickle.load(f)
    Client(address)
    transform_to_parquet(
        fusion, _ddf(pd.read_parquet(manifest_path)), folder, progress=False
    )


def _wait_for_files(folder, n, timeout=600):
    deadline = time.monotonic() + timeout
    while len(list(Path(folder).glob("part.*.parquet"))) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {n} files in {folder}")
        time.sleep(0.02)


def run(
    quick=False,
    rows_throughput=None,
    rows_small=None,
    rows_large=None,
    rows_exact=None,
    repeats=None,
):
    import distributed

    from sklearn_mbm.distributed import ParallelPostFit, transform_to_parquet

    rows_throughput = rows_throughput or (6000 if quick else 30000)
    rows_small = rows_small or (4000 if quick else 20000)
    rows_large = rows_large or (20000 if quick else 100000)
    rows_exact = rows_exact or (2500 if quick else 5000)
    repeats = repeats or (1 if quick else 3)
    tmp = Path(tempfile.mkdtemp(prefix="bench_partitions_"))
    cache = Path(tempfile.gettempdir()) / "sklearn_mbm_bench_partitions_png"
    records, target = build_records(cache)
    fusion = make_fusion().fit(manifest(records, N_FIT), target[:N_FIT])
    model_path = tmp / "fusion.pkl"
    model_path.write_bytes(pickle.dumps(fusion))
    rows = manifest(records, rows_throughput)
    manifest_path = tmp / "manifest.parquet"
    rows.to_parquet(manifest_path)
    out = {}

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=40,
    )
    client = distributed.Client(cluster)
    try:
        warm = _ddf(manifest(records, 1000)).repartition(npartitions=4)
        transform_to_parquet(fusion, warm, tmp / "warm", progress=False)
        ddf = _ddf(rows)

        # rounds of: one process, two independent processes, the cluster,
        # side by side so that the machine's load weighs on all three alike
        rounds, cpu_ratios = [], []
        for r in range(repeats):
            one, one_cpu = independent_processes(
                model_path, manifest_path, rows_throughput, 1, tmp
            )
            two, _ = independent_processes(
                model_path, manifest_path, rows_throughput, 2, tmp
            )
            start, cpu = time.perf_counter(), _cpu_seconds(client)
            written = transform_to_parquet(
                fusion, ddf, tmp / f"throughput{r}", progress=False
            )
            cluster_s = time.perf_counter() - start
            cpu = _cpu_seconds(client) - cpu
            assert (written["status"] == "written").all()
            rounds.append((one, two, cluster_s))
            cpu_ratios.append(cpu / one_cpu)
            print(
                f"round {r}: one process {one:.2f} s, two processes {two:.2f} s, "
                f"cluster {cluster_s:.2f} s: share of ceiling {two / cluster_s:.3f}; "
                f"CPU seconds cluster / one process {cpu_ratios[-1]:.3f}",
                flush=True,
            )
        (tmp / "throughput0").rename(tmp / "throughput")
        ratios = [c / t for _, t, c in rounds]
        one, two, parquet_s = rounds[int(np.argsort(ratios)[len(ratios) // 2])]

        start, cpu = time.perf_counter(), _cpu_seconds(client)
        persisted = ParallelPostFit(fusion).transform(ddf).persist()
        distributed.wait(persisted)
        persist_s = time.perf_counter() - start
        persist_cpu = _cpu_seconds(client) - cpu
        del persisted

        start, cpu = time.perf_counter(), _cpu_seconds(client)
        naive_map_partitions(fusion, ddf)
        naive_s = time.perf_counter() - start
        naive_cpu = _cpu_seconds(client) - cpu
        print(
            f"cluster: transform_to_parquet {parquet_s:.2f} s, "
            f"persist {persist_s:.2f} s ({persist_cpu:.2f} CPU s), naive "
            f"map_partitions {naive_s:.2f} s ({naive_cpu:.2f} CPU s)",
            flush=True,
        )
        out["partitions_throughput"] = {
            "baseline": "2 independent processes, half the rows each",
            "candidate": "transform_to_parquet, LocalCluster 2x1",
            "baseline_s": two,
            "candidate_s": parquet_s,
            "ratio": parquet_s / two,  # the round with the median ratio
            "rounds": [[round(v, 2) for v in r] for r in rounds],
            "cpu_cluster_over_one_process": float(np.median(cpu_ratios)),
            "target": THROUGHPUT_TARGET,
            "rows": rows_throughput,
            "partitions": ddf.npartitions,
            "one_process_s": one,
            "ceiling_speedup": one / two,
            "cluster_speedup": one / parquet_s,
            "share_of_ceiling": two / parquet_s,
            "persist_s": persist_s,
            "persist_share_of_ceiling": two / persist_s,
            "naive_map_partitions_s": naive_s,
            "naive_share_of_ceiling": two / naive_s,
            "one_process_cpu_s": one_cpu,
            "persist_cpu_s": persist_cpu,
            "naive_cpu_s": naive_cpu,
        }

        # exactness on rows_exact rows
        exact = manifest(records, rows_exact)
        transform_to_parquet(fusion, _ddf(exact), tmp / "exact", progress=False)
        stored = _read(tmp / "exact")
        expected = fusion.transform(exact)
        bit_for_bit = bool(
            stored.to_numpy().dtype == expected.dtype
            and stored.to_numpy().tobytes() == expected.tobytes()
        )
        max_abs_difference = float(np.max(np.abs(stored.to_numpy() - expected)))

        # a worker killed in the middle: completes, equals the uninterrupted run
        killed = tmp / "killed"
        result = {}
        runner = threading.Thread(
            target=lambda: result.update(
                report=transform_to_parquet(fusion, ddf, killed, progress=False)
            )
        )
        runner.start()
        _wait_for_files(killed, max(1, ddf.npartitions // 3))
        victim = next(iter(client.run(os.getpid).values()))
        os.kill(victim, signal.SIGKILL)
        runner.join()
        report = result["report"]
        files = sorted(p.name for p in killed.iterdir())
        equal_after_kill = bool(
            np.array_equal(
                _read(killed).to_numpy(), _read(tmp / "throughput").to_numpy()
            )
        )
        client.wait_for_workers(2)

        # a driver killed in the middle: the second run writes what is missing
        resumed = tmp / "resumed"
        driver = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--driver",
                cluster.scheduler_address,
                str(model_path),
                str(manifest_path),
                str(resumed),
            ],
            env={**os.environ},
        )
        _wait_for_files(resumed, max(1, ddf.npartitions // 2))
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        _wait_until_idle(client)  # tasks the scheduler had started finish
        present = len(list(resumed.glob("part.*.parquet")))
        second = transform_to_parquet(fusion, ddf, resumed, progress=False)
        n_written = int((second["status"] == "written").sum())
        equal_after_resume = bool(
            np.array_equal(
                _read(resumed).to_numpy(), _read(tmp / "throughput").to_numpy()
            )
        )
        present_after = len(list(resumed.glob("part.*.parquet")))
        out["partitions_exactness"] = {
            "baseline": "in-process FusionTransformer.transform",
            "candidate": f"transform_to_parquet, {rows_exact} rows",
            "ratio": max_abs_difference,  # and the bytes: bit_for_bit
            "target": 0.0,
            "bit_for_bit": bit_for_bit,
            "kill_worker_files": len(files),
            "kill_worker_partitions": ddf.npartitions,
            "kill_worker_statuses": report["status"].value_counts().to_dict(),
            "kill_worker_equal": equal_after_kill,
            "kill_driver_files_before_rerun": present,
            "rerun_written": n_written,
            "rerun_skipped": int((second["status"] == "skipped").sum()),
            "rerun_files_after": present_after,
            "rerun_equal": equal_after_resume,
        }
        print(json.dumps(out["partitions_exactness"], default=str), flush=True)

        # per-worker peak memory, small and large manifest, fresh workers each
        peaks = {}
        for label, n_rows in (("small", rows_small), ("large", rows_large)):
            client.restart()
            big = _ddf(manifest(records, n_rows))
            driver_before = _peak_rss_mb()
            start = time.perf_counter()
            transform_to_parquet(fusion, big, tmp / f"memory_{label}", progress=False)
            seconds = time.perf_counter() - start
            peaks[label] = (
                max(_worker_peaks(client)),
                seconds,
                _peak_rss_mb() - driver_before,
            )
            print(
                f"{label} ({n_rows} rows): worker peaks "
                f"{_worker_peaks(client)} MB, {seconds:.1f} s",
                flush=True,
            )
        features_mb = rows_large * len(fusion.get_feature_names_out()) * 8 / 2**20
        out["partitions_memory"] = {
            "baseline": f"peak worker RSS, {rows_small} rows",
            "candidate": f"peak worker RSS, {rows_large} rows",
            "baseline_mb": peaks["small"][0],
            "candidate_mb": peaks["large"][0],
            "ratio": peaks["large"][0] / peaks["small"][0],
            "target": MEMORY_TARGET,
            "small_s": peaks["small"][1],
            "large_s": peaks["large"][1],
            "large_rows_per_s": rows_large / peaks["large"][1],
            "driver_peak_growth_mb": peaks["large"][2],
            "large_features_mb": features_mb,
        }
    finally:
        client.close()
        cluster.close()
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--half":
        return _half_main(*argv[1:])
    if argv and argv[0] == "--driver":
        return _driver_main(*argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows-throughput", type=int)
    parser.add_argument("--rows-small", type=int)
    parser.add_argument("--rows-large", type=int)
    parser.add_argument("--rows-exact", type=int)
    parser.add_argument("--repeats", type=int, help="throughput rounds")
    args = parser.parse_args(argv)
    rows = run(
        quick=args.quick,
        rows_throughput=args.rows_throughput,
        rows_small=args.rows_small,
        rows_large=args.rows_large,
        rows_exact=args.rows_exact,
        repeats=args.repeats,
    )
    for name, row in rows.items():
        print(f"{name}: ratio {row['ratio']:.3f} (target <= {row['target']:.3g})")
        for key, value in row.items():
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
