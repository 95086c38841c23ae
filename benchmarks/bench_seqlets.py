"""Seqlet-calling speed on a chromosome-sized attribution track, against the callers users have.

    python benchmarks/bench_seqlets.py [--megabases 30]

A synthetic per-base contribution track (Laplace noise with planted 10-bp bumps)
of ``--megabases`` Mb, cut into rows of ``--row`` bases (modisco-lite's greedy
extraction scans a whole row for every seqlet, so one 30 Mb row would not
finish), called by the TF-MoDISco method in one run by:

- cre-scanner (:mod:`scanner.seqlets.tfmodisco`: windowed sums, Laplace null,
  isotonic FDR thresholds, greedy extraction), first call excluded from timing
  (numba compilation), second call timed; then again with modisco-lite's own
  subsample (``subsample="modisco"``: the first 1,000,000 of a shuffle of every
  window index) instead of the default Bernoulli one;
- modisco-lite's ``extract_seqlets`` (same settings): the same seqlets as the
  second cre-scanner call, and their Jaccard index with the first;
- tangermeme's ``recursive_seqlets`` (its own method; threshold 0.01) and
  ``tfmodisco_seqlets`` for reference, on a 1/10 slice when ``--full-tangermeme``
  is not given (they are slow; extrapolated linearly and marked so).

Then the recursive p-value method on the same rows (float32, as tangermeme takes
them): cre-scanner's :func:`scanner.seqlets.recursive.recursive_seqlets` (first
call excluded from timing) against tangermeme's ``recursive_seqlets`` on all rows
(its null is fitted to all of them, so a slice would call other seqlets), checked
to give the same seqlets and p-values.

``--tangermeme-from DIR`` (repeatable) also times the ``recursive_seqlets`` of
another tangermeme release on the same rows, in a subprocess that imports it
from DIR (``pip install --no-deps --target DIR tangermeme==1.5.0``): releases
up to 1.5.0 ran this caller some 50x slower than 1.6.0.

Every caller but tangermeme's ``tfmodisco_seqlets`` (one call) is called
``--repeats`` times and its fastest call reported, so that the ratios compare
calls equally spared by whatever else shares the machine.

Settings: window 21, flank 10, FDR 0.2, passing fraction 0.03-0.2; recursive:
threshold 0.01, lengths 4-25, 1000 bins.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings
from importlib.metadata import version

import numpy as np
from timing import best_of, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabases", type=float, default=30)
    parser.add_argument("--full-tangermeme", action="store_true")
    parser.add_argument("--row", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3,
                        help="calls of each caller under 10 s per call; the fastest is reported (default 3)")
    parser.add_argument("--tangermeme-from", action="append", default=[], metavar="DIR",
                        help="also time recursive_seqlets of the tangermeme installed in DIR (repeatable)")
    args = parser.parse_args()
    from scanner.seqlets.tfmodisco import call_tracks, fdr_thresholds, window_sums

    rows = int(args.megabases * 1e6) // args.row
    length = rows * args.row
    rng = np.random.default_rng(0)
    track = rng.laplace(0, 0.01, length)
    for start in rng.integers(0, length - 20, length // 1000):
        track[start : start + 10] += rng.choice([-1, 1]) * rng.uniform(0.02, 0.1)
    tracks = track.reshape(rows, args.row)

    def ours(subsample):
        sums = window_sums(tracks, 21)
        thresholds = fdr_thresholds(sums.ravel(), target_fdr=0.2, min_passing=0.03, max_passing=0.2,
                                    subsample=subsample)
        row, start, _ = call_tracks(sums, args.row, thresholds, window=21, flank=10, suppress=20)
        return set(zip(row.tolist(), start.tolist()))

    ours("bernoulli")  # compile
    seconds_ours, starts = best_of(lambda: ours("bernoulli"), args.repeats)
    seconds_exact, exact = best_of(lambda: ours("modisco"), args.repeats)
    print(f"{length / 1e6:g} Mb in {rows:,} rows of {args.row:,}; cre-scanner: {seconds_ours:.2f} s, {len(starts):,} "
          f"seqlets; with modisco-lite's own subsample (a shuffle of every window index): {seconds_exact:.2f} s")
    fastest = None
    try:
        from modiscolite.extract_seqlets import extract_seqlets
    except ImportError:
        extract_seqlets = None
        print("modisco-lite not installed")
    if extract_seqlets is not None:
        seconds, (seqlets, _) = best_of(lambda: extract_seqlets(tracks.copy(), 21, 10, 20, 0.2, 0.03, 0.2, 0.8),
                                        args.repeats)
        theirs = {(s.example_idx, s.start) for s in seqlets}
        jaccard = len(theirs & starts) / len(theirs | starts)
        print(f"modisco-lite extract_seqlets: {seconds:.2f} s, {len(theirs):,} seqlets; same seqlets as cre-scanner "
              f"with its subsample: {theirs == exact}; Jaccard with cre-scanner's Bernoulli subsample: {jaccard:.4f}; "
              f"cre-scanner {seconds / seconds_ours:.1f}x faster ({seconds / seconds_exact:.1f}x with its subsample)")
        fastest = seconds
    try:
        import torch
        from tangermeme.seqlet import recursive_seqlets, tfmodisco_seqlets
    except ImportError:
        print("tangermeme not installed")
        recursive(tracks, length, args.repeats, args.tangermeme_from)
        return
    part = rows if args.full_tangermeme else max(rows // 10, 1)
    scale = rows / part
    x = torch.from_numpy(tracks[:part].astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recursive_seqlets(x[:2])  # compile
        seconds, table = best_of(lambda: recursive_seqlets(x), args.repeats)
        print(f"tangermeme recursive_seqlets: {seconds * scale:.2f} s{' (extrapolated from ' + f'{part * args.row / 1e6:g} Mb)' if scale > 1 else ''}, "
              f"cre-scanner {seconds * scale / seconds_ours:.1f}x faster")
        fastest = min(fastest or np.inf, seconds * scale)
        seconds, table = timed(lambda: tfmodisco_seqlets(x))
        print(f"tangermeme tfmodisco_seqlets: {seconds * scale:.2f} s{' (extrapolated)' if scale > 1 else ''}")
    print(f"TF-MoDISco method against the fastest other caller of any method: {fastest / seconds_ours:.1f}x")
    recursive(tracks, length, args.repeats, args.tangermeme_from)


# Run with another tangermeme first on the path: argv is the rows' .npy and the repeats.
OTHER_TANGERMEME = """
import sys, time, warnings
from importlib.metadata import version
import numpy as np, torch
from tangermeme.seqlet import recursive_seqlets
x = torch.from_numpy(np.load(sys.argv[1]))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    recursive_seqlets(x[:2])
    best = float("inf")
    for call in range(int(sys.argv[2])):
        began = time.perf_counter()
        table = recursive_seqlets(x)
        best = min(best, time.perf_counter() - began)
        if best > 10:
            break
print(version("tangermeme"), best, len(table))
"""


def other_tangermeme(directory: str, x: np.ndarray, repeats: int):
    """(release, fastest seconds, seqlets) of the tangermeme in ``directory`` on rows ``x``."""
    with tempfile.TemporaryDirectory() as tmp:
        rows = os.path.join(tmp, "rows.npy")
        np.save(rows, x)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [directory, os.environ.get("PYTHONPATH")] if p)}
        done = subprocess.run([sys.executable, "-c", OTHER_TANGERMEME, rows, str(repeats)], env=env,
                              capture_output=True, text=True, check=True)
    release, seconds, count = done.stdout.split()[-3:]
    return release, float(seconds), int(count)


def recursive(tracks: np.ndarray, length: int, repeats: int, others: list[str] = ()) -> None:
    """Recursive p-value seqlets on the same rows, cre-scanner against tangermeme."""
    from scanner.seqlets.recursive import recursive_seqlets as ours

    x = np.ascontiguousarray(tracks, dtype=np.float32)
    ours(x[:2])  # compile
    seconds_ours, calls = best_of(lambda: ours(x), repeats)
    print(f"recursive, {length / 1e6:g} Mb: cre-scanner {seconds_ours:.2f} s, {len(calls.start):,} seqlets")
    for directory in others:
        release, seconds, count = other_tangermeme(directory, x, repeats)
        print(f"tangermeme {release} recursive_seqlets (from {directory}): {seconds:.2f} s, {count:,} seqlets; "
              f"cre-scanner {seconds / seconds_ours:.1f}x faster")
    try:
        import torch
        from tangermeme.seqlet import recursive_seqlets
    except ImportError:
        print("tangermeme not installed")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recursive_seqlets(torch.from_numpy(x[:2]))  # compile
        seconds, table = best_of(lambda: recursive_seqlets(torch.from_numpy(x)), repeats)
    table = table.sort_values(["example_idx", "start"])
    same = (np.array_equal(calls.track, table.example_idx.values) and np.array_equal(calls.start, table.start.values)
            and np.array_equal(calls.end, table.end.values) and np.array_equal(calls.pvalue, table["p-value"].values))
    print(f"tangermeme {version('tangermeme')} recursive_seqlets: {seconds:.2f} s, {len(table):,} seqlets, "
          f"same seqlets and p-values: {same}; "
          f"cre-scanner {seconds / seconds_ours:.1f}x faster (target >= 10x)")


if __name__ == "__main__":
    main()
