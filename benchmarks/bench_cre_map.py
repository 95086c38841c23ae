"""Annotating a genome's worth of seqlets into the CRE map, against bedtools.

    python benchmarks/bench_cre_map.py [--seqlets 200000] [--hits-per-seqlet 10] [--genes 27000]

A synthetic genome the size of A. thaliana's (5 contigs of 24 Mb), with
``--genes`` genes (lengths log-normal around 2 kb, either strand), ``--seqlets``
41-bp seqlets placed at random and about ``--hits-per-seqlet`` motif hits in and
around each (``scanner annotate`` scans around the seqlets, so its hits cluster
there: the demo run has about 10 per seqlet).

Timed:

- cre-scanner's :func:`scanner.cres.cre_map.cre_map`: for every seqlet the
  overlapping hits and the best of them, the region (promoter, terminator, genic,
  distal), the nearest gene and the distances to its TSS and TTS; after a first
  call on a slice (numba compilation);
- bedtools, what a user would run instead for part of that: ``intersect -c
  -sorted`` (hits per seqlet) and ``closest -d -t first`` (the nearest gene), on
  sorted BED files written beforehand (not timed). It gives neither the best hit,
  nor regions, nor distances to TSS and TTS.

Also checks that the hit counts agree with bedtools'.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from timing import best_of

CONTIG_LENGTH = 24_000_000
CONTIGS = 5


def synthetic(n_genes: int, n_seqlets: int, hits_per_seqlet: float, seed: int = 0):
    """(seqlets, hits, genes) as cre_map takes them, each sorted by contig then start."""
    rng = np.random.default_rng(seed)
    contig = np.sort(rng.integers(0, CONTIGS, n_genes))
    length = np.clip(rng.lognormal(np.log(2000), 0.6, n_genes).astype(np.int64), 200, 20_000)
    start = rng.integers(0, CONTIG_LENGTH - 20_000, n_genes)
    order = np.lexsort((start, contig))
    genes = pd.DataFrame({"contig_index": contig[order], "start": start[order], "end": start[order] + length[order],
                          "strand": rng.choice(["+", "-"], n_genes), "gene_id": [f"AT{i:06d}" for i in range(n_genes)]})
    s_contig = np.sort(rng.integers(0, CONTIGS, n_seqlets))
    s_start = rng.integers(0, CONTIG_LENGTH - 100, n_seqlets)
    order = np.lexsort((s_start, s_contig))
    s_contig, s_start = s_contig[order], s_start[order]
    seqlets = xr.Dataset({
        "seqlet_contig": ("seqlets", s_contig), "seqlet_start": ("seqlets", s_start),
        "seqlet_end": ("seqlets", s_start + 41), "seqlet_sign": ("seqlets", np.ones(n_seqlets, np.int8)),
        "seqlet_sum": ("seqlets", rng.uniform(0.5, 2, n_seqlets)), "seqlet_peak": ("seqlets", rng.uniform(0.1, 0.5, n_seqlets)),
        "contig_id": ("contigs", [f"Chr{i + 1}" for i in range(CONTIGS)]),
        "contig_length": ("contigs", np.full(CONTIGS, CONTIG_LENGTH)),
    })
    n_hits = int(n_seqlets * hits_per_seqlet)
    around = rng.integers(0, n_seqlets, n_hits)
    h_start = np.maximum(s_start[around] + rng.integers(-15, 41, n_hits), 0)
    h_contig = s_contig[around]
    order = np.lexsort((h_start, h_contig))
    h_start, h_contig = h_start[order], h_contig[order]
    motif_ids = np.array([f"MA{i:04d}.1" for i in range(805)])
    hits = xr.Dataset({
        "hit_contig": ("hits", h_contig), "hit_start": ("hits", h_start),
        "hit_end": ("hits", h_start + rng.integers(6, 21, n_hits)),
        "hit_pvalue": ("hits", 10 ** rng.uniform(-8, -4, n_hits)), "hit_motif": ("hits", rng.integers(0, 805, n_hits)),
        "hit_strand": ("hits", rng.choice(["+", "-"], n_hits)),
        "motif_id": ("motifs", motif_ids), "motif_name": ("motifs", motif_ids),
    })
    return seqlets, hits, genes


def write_beds(folder: Path, seqlets: xr.Dataset, hits: xr.Dataset, genes: pd.DataFrame):
    names = np.array([f"Chr{i + 1}" for i in range(CONTIGS)])
    frames = {
        "seqlets": pd.DataFrame({"c": names[seqlets.seqlet_contig.values], "s": seqlets.seqlet_start.values,
                                 "e": seqlets.seqlet_end.values}),
        "hits": pd.DataFrame({"c": names[hits.hit_contig.values], "s": hits.hit_start.values, "e": hits.hit_end.values}),
        "genes": pd.DataFrame({"c": names[genes.contig_index.values], "s": genes.start.values, "e": genes.end.values,
                               "n": genes.gene_id.values, "x": 0, "t": genes.strand.values}),
    }
    paths = {}
    for name, frame in frames.items():
        paths[name] = folder / f"{name}.bed"
        # lexicographic contig order, as `sort -k1,1 -k2,2n` and bedtools -sorted expect
        frame.sort_values(["c", "s"], kind="stable").to_csv(paths[name], sep="\t", header=False, index=False)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seqlets", type=int, default=200_000)
    parser.add_argument("--hits-per-seqlet", type=float, default=10)
    parser.add_argument("--genes", type=int, default=27_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from scanner.cres.cre_map import cre_map

    seqlets, hits, genes = synthetic(args.genes, args.seqlets, args.hits_per_seqlet)
    print(f"{CONTIGS} contigs of {CONTIG_LENGTH / 1e6:g} Mb, {len(genes):,} genes, {seqlets.sizes['seqlets']:,} seqlets, "
          f"{hits.sizes['hits']:,} hits")
    cre_map(seqlets.isel(seqlets=slice(0, 100)), hits.isel(hits=slice(0, 1000)), genes)  # compile
    seconds, cres = best_of(lambda: cre_map(seqlets, hits, genes), args.repeats)
    print(f"cre-scanner cre_map: {seconds:.2f} s; regions {({k: int(v) for k, v in pd.Series(cres.cre_region.values).value_counts().items()})}")
    if shutil.which("bedtools") is None:
        print("bedtools not found (apt-get install bedtools): no comparison")
        return
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_beds(Path(tmp), seqlets, hits, genes)

        def bedtools():
            counted = subprocess.run(["bedtools", "intersect", "-a", paths["seqlets"], "-b", paths["hits"], "-c",
                                      "-sorted"], check=True, capture_output=True, text=True).stdout
            closest = subprocess.run(["bedtools", "closest", "-a", paths["seqlets"], "-b", paths["genes"], "-d",
                                      "-t", "first"], check=True, capture_output=True, text=True).stdout
            return counted, closest

        theirs, (counted, _) = best_of(bedtools, args.repeats)
    table = pd.read_csv(io.StringIO(counted), sep="\t", header=None, names=["c", "s", "e", "n"])
    ours = pd.DataFrame({"c": np.array([f"Chr{i + 1}" for i in range(CONTIGS)])[cres.cre_contig.values],
                         "s": cres.cre_start.values, "n": cres.cre_hits.values}).sort_values(["c", "s"], kind="stable")
    same = np.array_equal(table.n.values, ours.n.values)
    print(f"bedtools intersect -c + closest -d: {theirs:.2f} s; hit counts the same as cre-scanner's: {same}; "
          f"cre-scanner / bedtools speed: {theirs / seconds:.1f}x (and cre-scanner also finds the best hit, the region "
          "and the distances)")


if __name__ == "__main__":
    main()
