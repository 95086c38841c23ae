"""Seqlet-calling speed on a chromosome-sized attribution track, against the callers users have.

    python benchmarks/bench_seqlets.py [--megabases 30]

A synthetic per-base contribution track (Laplace noise with planted 10-bp bumps)
of ``--megabases`` Mb, cut into rows of ``--row`` bases (modisco-lite's greedy
extraction scans a whole row for every seqlet, so one 30 Mb row would not
finish), called by the TF-MoDISco method in one run by:

- cre-scanner (:mod:`scanner.seqlets.tfmodisco`: windowed sums, Laplace null,
  isotonic FDR thresholds, greedy extraction), first call excluded from timing
  (numba compilation), second call timed;
- modisco-lite's ``extract_seqlets`` (same settings), checked to give the same seqlets;
- tangermeme's ``recursive_seqlets`` (its own method; threshold 0.01) and
  ``tfmodisco_seqlets`` for reference, on a 1/10 slice when ``--full-tangermeme``
  is not given (they are slow; extrapolated linearly and marked so).

Settings: window 21, flank 10, FDR 0.2, passing fraction 0.03-0.2.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def timed(func):
    began = time.perf_counter()
    result = func()
    return time.perf_counter() - began, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabases", type=float, default=30)
    parser.add_argument("--full-tangermeme", action="store_true")
    parser.add_argument("--row", type=int, default=10_000)
    args = parser.parse_args()
    from scanner.seqlets.tfmodisco import call_track, fdr_thresholds, window_sums

    rows = int(args.megabases * 1e6) // args.row
    length = rows * args.row
    rng = np.random.default_rng(0)
    track = rng.laplace(0, 0.01, length)
    for start in rng.integers(0, length - 20, length // 1000):
        track[start : start + 10] += rng.choice([-1, 1]) * rng.uniform(0.02, 0.1)
    tracks = track.reshape(rows, args.row)

    def ours():
        sums = [window_sums(row, 21) for row in tracks]
        thresholds = fdr_thresholds(np.concatenate(sums), target_fdr=0.2, min_passing=0.03, max_passing=0.2)
        return [(i, int(s)) for i, row_sums in enumerate(sums)
                for s in call_track(row_sums, args.row, thresholds, window=21, flank=10, suppress=20)[0]]

    ours()  # compile
    seconds_ours, starts = timed(ours)
    print(f"{length / 1e6:g} Mb in {rows:,} rows of {args.row:,}; cre-scanner: {seconds_ours:.2f} s, {len(starts):,} seqlets")
    fastest = None
    try:
        from modiscolite.extract_seqlets import extract_seqlets
    except ImportError:
        extract_seqlets = None
        print("modisco-lite not installed")
    if extract_seqlets is not None:
        seconds, (seqlets, _) = timed(lambda: extract_seqlets(tracks.copy(), 21, 10, 20, 0.2, 0.03, 0.2, 0.8))
        same = sorted((s.example_idx, s.start) for s in seqlets) == sorted(starts)
        print(f"modisco-lite extract_seqlets: {seconds:.2f} s, {len(seqlets):,} seqlets, same seqlets: {same}; "
              f"cre-scanner {seconds / seconds_ours:.1f}x faster")
        fastest = seconds
    try:
        import torch
        from tangermeme.seqlet import recursive_seqlets, tfmodisco_seqlets
    except ImportError:
        print("tangermeme not installed")
        return
    part = rows if args.full_tangermeme else max(rows // 10, 1)
    scale = rows / part
    x = torch.from_numpy(tracks[:part].astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recursive_seqlets(x[:2])  # compile
        seconds, table = timed(lambda: recursive_seqlets(x))
        print(f"tangermeme recursive_seqlets: {seconds * scale:.2f} s{' (extrapolated from ' + f'{part * args.row / 1e6:g} Mb)' if scale > 1 else ''}, "
              f"cre-scanner {seconds * scale / seconds_ours:.1f}x faster")
        fastest = min(fastest or np.inf, seconds * scale)
        seconds, table = timed(lambda: tfmodisco_seqlets(x))
        print(f"tangermeme tfmodisco_seqlets: {seconds * scale:.2f} s{' (extrapolated)' if scale > 1 else ''}")
    print(f"against the fastest other caller: {fastest / seconds_ours:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
