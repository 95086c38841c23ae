"""The work of one block of windows, run inside a Dask task.

A task gets the block's rows of the windows table (small arrays), the genome
store's path, the model's path and the output store's path; it reads the bases,
gets the model from the process cache, computes, and writes its rows of the output
arrays itself (blocks are whole Zarr chunks, so no two tasks touch one chunk). It
returns only small per-window summaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..tiling.sequences import _window_block
from .model_cache import cached_model


@dataclass(frozen=True)
class BlockJob:
    """What every block of a run shares (all plain values: cheap to send)."""

    store_path: str
    contig_names: tuple
    contig_lengths: tuple
    length: int
    masked: tuple  # masked window positions
    model_path: str
    output_path: str
    method: str  # predict | deeplift-shap | gradient | integrated-gradients | ism
    device: str = "auto"
    batch_size: int = 128
    target: int = 0
    references: int = 20
    seed: int = 0
    steps: int = 16
    precision: str = "float32"
    codes_path: str = ""  # a Zarr array (windows, positions) of ready-made window codes


def block_codes(job: BlockJob, rows: dict, lo: int = 0, hi: int = 0) -> np.ndarray:
    if job.codes_path:  # windows of an edited genome, built beforehand (variant scoring)
        import zarr

        return np.asarray(zarr.open_array(job.codes_path, mode="r")[lo:hi])
    masked = np.zeros(job.length, bool)
    masked[list(job.masked)] = True
    return _window_block(
        rows["contig"], rows["strand"], rows["seg_start"], rows["seg_end"], rows["seg_offset"],
        store_path=job.store_path, contig_names=list(job.contig_names), contig_lengths=np.array(job.contig_lengths),
        length=job.length, masked=masked if masked.any() else None,
    )


def run_block(job: BlockJob, block: int, lo: int, hi: int, rows: dict) -> dict:
    """Compute block ``block`` (windows ``lo:hi``) and write it to ``job.output_path``."""
    import zarr

    from ..attribution.deeplift import deeplift_shap
    from ..attribution.gradients import gradient_x_input, integrated_gradients
    from ..attribution.ism import ism
    from ..attribution.shuffle import dinucleotide_shuffles, window_seeds

    codes = block_codes(job, rows, lo, hi)
    dtype = torch.float64 if job.precision == "float64" else torch.float32
    loaded = cached_model(job.model_path, job.device, dtype)
    device = loaded.device
    root = zarr.open_group(job.output_path, mode="r+")
    prediction = loaded.predict_codes(codes, batch_size=job.batch_size)
    if prediction.ndim == 3:  # strand "both": keep the mean here
        prediction = prediction.mean(axis=1)
    root["window_prediction"][lo:hi] = prediction.astype(np.float32)
    root["window_sequence"][lo:hi] = codes
    summary = {"block": block, "windows": hi - lo, "device": str(device), "worker": _worker_address()}
    if job.method == "predict":
        return summary
    module = loaded.module if loaded.card.input_layout == "NCL" else _ChannelsLast(loaded.module)
    average = loaded.card.strand in ("average", "both")
    fixed = np.zeros(job.length, bool)
    fixed[list(job.masked)] = True
    common = dict(target=job.target, dtype=dtype, device=device, reverse_complement_average=average)
    if job.method in ("deeplift-shap", "integrated-gradients"):
        seeds = window_seeds(job.seed, rows["contig"], rows["start"], rows["strand"])
        references = dinucleotide_shuffles(codes, seeds, job.references, fixed=fixed)
        if job.method == "deeplift-shap":
            # on a CPU, two windows with their references at a time keep the activations in cache
            pairs = job.batch_size if device.type == "cuda" else 2 * job.references
            result = deeplift_shap(module, codes, references, batch_size=pairs, audit=False, **common)
        else:
            result = integrated_gradients(module, codes, references, steps=job.steps, batch_size=job.batch_size, **common)
    elif job.method == "gradient":
        result = gradient_x_input(module, codes, batch_size=job.batch_size, **common)
    elif job.method == "ism":
        result = ism(module, codes, batch_size=job.batch_size, fixed=fixed, **common)
    else:  # pragma: no cover - checked before any task runs
        raise ValueError(f"unknown method {job.method!r}")
    store_dtype = root["window_hypothetical"].dtype
    root["window_hypothetical"][lo:hi] = result.hypothetical.astype(store_dtype)
    root["window_output"][lo:hi] = result.output
    root["window_reference_output"][lo:hi] = result.reference_output
    root["window_completeness"][lo:hi] = result.completeness
    finite = result.completeness[np.isfinite(result.completeness)]
    summary["completeness_max"] = float(finite.max()) if len(finite) else float("nan")
    return summary


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


class _ChannelsLast(torch.nn.Module):
    """Presents an ``(N, L, 4)`` user model as ``(N, 4, L)`` to the attribution methods."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x.transpose(1, 2))
