"""A prediction or attribution run: windows in, one Zarr store out, resumable.

The windows (gene windows or tiles) are cut into blocks of ``block_size``; one
Dask task per block computes and writes its rows (see
:mod:`scanner.inference.blocks`). The store is built at ``.NAME.partial`` beside
the destination with a ledger (``.NAME.ledger.json``) listing finished blocks and a fingerprint of
everything the result depends on (model file, genome, windows, method and its
settings); a run started again with the same inputs does only the blocks the
ledger lacks, and the store moves into place only when every block is done.

Output variables (dims ``windows``, ``targets``, ``positions``, ``bases``):
``window_prediction`` (windows, targets), ``window_sequence`` (windows,
positions), and for attribution methods ``window_hypothetical`` (windows,
positions, bases), ``window_output``, ``window_reference_output``,
``window_completeness``; plus the windows table, ``target_id`` and the contig
table. Actual contributions are ``window_hypothetical`` times the one-hot of
``window_sequence`` (:func:`actual_contributions`). Tile runs also hold, per
contig, the stitched tracks ``tracks/<contig>``: ``track_prediction``
(positions, targets: the prediction of the tile owning each base) and
``track_actual`` (positions: the actual contribution), each base from the tile in
which it is most central.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from ..storage import replace_directory
from ..variables import annotate
from .blocks import BlockJob, run_block

log = logging.getLogger(__name__)

METHODS = ("predict", "deeplift-shap", "gradient", "integrated-gradients", "ism")
WINDOW_TABLE = ("window_contig", "window_start", "window_end", "window_strand", "window_segment_start",
                "window_segment_end", "window_segment_offset", "window_gene_id", "window_gene_start",
                "window_gene_end", "window_padded", "window_name")


class RunError(ValueError):
    """A run that cannot start (bad method, model that does not fit the windows)."""


def _fingerprint(model_path: Path, genome, windows: xr.Dataset, settings: dict) -> str:
    digest = hashlib.sha256()
    with open(model_path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    digest.update(str(genome.attrs.get("source_sha256")).encode())
    for name in ("window_contig", "window_strand", "window_segment_start", "window_segment_end", "window_segment_offset"):
        digest.update(np.ascontiguousarray(windows[name].values).tobytes())
    if "position_masked" in windows:
        digest.update(np.ascontiguousarray(windows.position_masked.values).tobytes())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def _codes_digest(path, n: int, length: int) -> str:
    import zarr

    array = zarr.open_array(path, mode="r")
    if array.shape != (n, length) or array.dtype != np.uint8:
        raise RunError(f"window codes {path} are {array.shape} {array.dtype}; expected ({n}, {length}) uint8")
    digest = hashlib.sha256()
    step = max(1, (1 << 24) // max(length, 1))
    for lo in range(0, n, step):
        digest.update(np.ascontiguousarray(array[lo : lo + step]).tobytes())
    return digest.hexdigest()


def _finished_with(output: Path, fingerprint: str) -> bool:
    """Whether ``output`` is a complete run of exactly these inputs."""
    import zarr

    try:
        attrs = zarr.open_group(output, mode="r").attrs
    except Exception:  # absent or not a Zarr group: nothing to reuse
        return False
    return attrs.get("complete") is True and attrs.get("run_fingerprint") == fingerprint


def _ledger_path(partial: Path) -> Path:
    return partial.with_name(partial.name.removesuffix(".partial") + ".ledger.json")


def _read_ledger(partial: Path) -> dict | None:
    if not partial.exists():
        return None
    try:
        return json.loads(_ledger_path(partial).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _write_ledger(partial: Path, ledger: dict) -> None:
    path = _ledger_path(partial)
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(json.dumps(ledger))
    os.replace(scratch, path)


def _create_arrays(path: Path, *, n: int, length: int, targets: int, block: int, attribution: bool, store_dtype: str):
    import zarr

    from ..genome.store_format import quiet_zarr_string_warnings

    root = zarr.open_group(path, mode="w", zarr_format=3)
    with quiet_zarr_string_warnings():
        root.create_array("window_prediction", shape=(n, targets), chunks=(block, targets), dtype="float32",
                          dimension_names=["windows", "targets"], fill_value=np.nan)
        root.create_array("window_sequence", shape=(n, length), chunks=(block, length), dtype="uint8",
                          dimension_names=["windows", "positions"], fill_value=4)
        if attribution:
            root.create_array("window_hypothetical", shape=(n, length, 4), chunks=(block, length, 4), dtype=store_dtype,
                              dimension_names=["windows", "positions", "bases"], fill_value=np.nan)
            for name in ("window_output", "window_reference_output", "window_completeness"):
                root.create_array(name, shape=(n,), chunks=(block,), dtype="float64", dimension_names=["windows"],
                                  fill_value=np.nan)


def _block_rows(windows: xr.Dataset, lo: int, hi: int) -> dict:
    part = windows.isel(windows=slice(lo, hi))
    return {
        "contig": part.window_contig.values.astype(np.int64),
        "strand": part.window_strand.values,
        "start": part.window_start.values.astype(np.int64),
        "seg_start": part.window_segment_start.values,
        "seg_end": part.window_segment_end.values,
        "seg_offset": part.window_segment_offset.values,
    }


def run_windows(genome, windows: xr.Dataset, model_path: str | os.PathLike, output: str | os.PathLike, *,
                method: str = "predict", client=None, block_size: int = 256, device: str = "auto",
                gpu: bool = False, batch_size: int = 128, target: int | str = 0, references: int = 20,
                seed: int = 0, steps: int = 16, precision: str = "float32", storage: str = "float32",
                codes: str | os.PathLike | None = None, on_progress=None) -> xr.Dataset:
    """Predict or attribute every window with the model at ``model_path``; store in ``output``.

    Parameters
    ----------
    genome : Genome
    windows : xarray.Dataset
        Gene windows or tiles (computed or lazy).
    model_path : path-like
        ``.model`` file or user card ``.json``.
    output : path-like
        Zarr store to write (the run's store).
    method : {"predict", "deeplift-shap", "gradient", "integrated-gradients", "ism"}
    client : distributed.Client, optional
        Run the blocks as tasks on this cluster; without one, in this process.
    block_size : int
        Windows per task (and per Zarr chunk); rounded up to a multiple of
        ``batch_size`` so that every forward pass holds the same windows whatever
        the partitioning: results are then bit-identical for any block size and
        worker count (and equal to float rounding across batch sizes).
    device : str
        ``auto`` (each worker: its GPU if it has one), ``cpu``, ``cuda``.
    gpu : bool
        Give tasks the Dask resource annotation ``GPU: 1`` so only workers that
        declare a GPU resource run them.
    batch_size : int
        Windows (or window-reference pairs) per forward pass.
    target : int or str
        Output attributed: index or target name.
    references, seed, steps : int
        Dinucleotide-shuffled references per window and their seed; integration steps.
    precision : {"float32", "float64"}
        Arithmetic of the attribution.
    storage : {"float32", "float16"}
        dtype of ``window_hypothetical`` in the store.
    codes : path-like, optional
        A Zarr array (windows, positions) of uint8 codes to feed instead of the
        genome's bases (windows of an edited genome); the windows table then only
        describes where each window came from. Its content is part of the
        fingerprint.
    on_progress : callable, optional
        ``on_progress(done_blocks, total_blocks)``.

    Returns
    -------
    xarray.Dataset
        The finished store, opened lazily.
    """
    from ..attribution.audit import audit_model
    from ..models.model_file import load_model

    if method not in METHODS:
        raise RunError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if storage not in ("float32", "float16") or precision not in ("float32", "float64"):
        raise RunError("storage must be float32 or float16 and precision float32 or float64")
    model_path = Path(model_path)
    output = Path(output)
    loaded = load_model(model_path)
    length = int(windows.attrs["window_length"])
    loaded.card.check_windows(length, windows.attrs.get("layout"), where=str(model_path))
    if isinstance(target, str):
        if target not in loaded.card.targets:
            raise RunError(f"{model_path} has no target {target!r}; targets: {', '.join(loaded.card.targets)}")
        target = loaded.card.targets.index(target)
    if not 0 <= int(target) < len(loaded.card.targets):
        raise RunError(f"target index {target} out of range for {len(loaded.card.targets)} target(s)")
    if method == "deeplift-shap":
        module = loaded.module
        audit_model(module, where=str(model_path))
    block_size = -(-int(block_size) // int(batch_size)) * int(batch_size)
    windows = windows.compute() if any(windows[n].chunks for n in WINDOW_TABLE if n in windows) else windows
    n = windows.sizes["windows"]
    masked = tuple(np.flatnonzero(windows.position_masked.values).tolist()) if "position_masked" in windows else ()
    settings = dict(method=method, target=int(target), references=references, seed=seed, steps=steps,
                    precision=precision, storage=storage, block_size=block_size)
    if codes is not None:
        settings["codes_sha256"] = _codes_digest(codes, n, length)
    fingerprint = _fingerprint(model_path, genome, windows, settings)
    if _finished_with(output, fingerprint):
        log.info("%s is already complete for these inputs; reusing it", output)
        if on_progress:
            on_progress(1, 1)
        return open_run(output)
    partial = output.with_name(f".{output.name}.partial")
    ledger = _read_ledger(partial)
    if ledger is None or ledger.get("fingerprint") != fingerprint:
        if partial.exists():
            shutil.rmtree(partial)
        partial.parent.mkdir(parents=True, exist_ok=True)
        _create_arrays(partial, n=n, length=length, targets=len(loaded.card.targets), block=block_size,
                       attribution=method != "predict", store_dtype=storage)
        ledger = {"fingerprint": fingerprint, "done": [], "summaries": []}
        _write_ledger(partial, ledger)
    else:
        log.info("resuming %s: %d blocks already done", output, len(ledger["done"]))
    job = BlockJob(
        store_path=str(genome.path), contig_names=tuple(genome.contig_names),
        contig_lengths=tuple(int(x) for x in genome.contigs.contig_length.values), length=length, masked=masked,
        model_path=str(model_path.resolve()), output_path=str(partial.resolve()), method=method, device=device,
        batch_size=batch_size, target=int(target), references=references, seed=seed, steps=steps, precision=precision,
        codes_path=str(Path(codes).resolve()) if codes is not None else "",
    )
    blocks = [(b, lo, min(lo + block_size, n)) for b, lo in enumerate(range(0, n, block_size))]
    done = set(ledger["done"])
    todo = [b for b in blocks if b[0] not in done]
    if on_progress:
        on_progress(len(done), len(blocks))

    def finished(summary):
        ledger["done"].append(summary["block"])
        ledger["summaries"].append(summary)
        _write_ledger(partial, ledger)
        if on_progress:
            on_progress(len(ledger["done"]), len(blocks))

    if client is None:
        for block, lo, hi in todo:
            finished(run_block(job, block, lo, hi, _block_rows(windows, lo, hi)))
    else:
        from distributed import as_completed

        from .model_cache import warm

        resources = {"GPU": 1} if gpu else None
        if todo and not gpu:  # load the model on every worker once, before the first block arrives
            client.run(warm, job.model_path, device, torch.float64 if precision == "float64" else torch.float32)
        futures = [
            client.submit(run_block, job, block, lo, hi, _block_rows(windows, lo, hi), key=f"{method}-block-{block}-{fingerprint[:12]}",
                          resources=resources, pure=False)
            for block, lo, hi in todo
        ]
        for future in as_completed(futures):
            finished(future.result())
    _finish(partial, windows, loaded, method, {**settings, "fingerprint": fingerprint}, ledger)
    if windows.attrs.get("layout") == "tiles":
        _write_tracks(partial)
    replace_directory(partial, output)
    _ledger_path(partial).unlink(missing_ok=True)
    return open_run(output)


def _finish(path: Path, windows: xr.Dataset, loaded, method: str, settings: dict, ledger: dict) -> None:
    from ..genome.store_format import quiet_zarr_string_warnings

    keep = [name for name in WINDOW_TABLE + ("position_masked", "contig_id", "contig_length") if name in windows]
    table = windows[keep].assign(target_id=("targets", np.array(loaded.card.targets)))
    if method != "predict":
        table = table.assign(base_id=("bases", np.array(list("ACGT"))))
    completeness = [s["completeness_max"] for s in ledger["summaries"] if np.isfinite(s.get("completeness_max", np.nan))]
    table.attrs = {
        **{k: v for k, v in windows.attrs.items() if isinstance(v, (str, int, float, bool, list))},
        "run_method": method,
        "run_settings": json.dumps({k: v for k, v in settings.items() if k != "fingerprint"}),
        "run_fingerprint": settings.get("fingerprint", ""),
        "model_path": str(loaded.path),
        "model_card": loaded.card.to_json(),
        "completeness_max": float(max(completeness)) if completeness else float("nan"),
        "complete": True,
    }
    with quiet_zarr_string_warnings():
        annotate(table).to_zarr(path, mode="a", zarr_format=3, consolidated=False)


def _write_tracks(path: Path) -> None:
    """Per-contig stitched tracks of a tile run, in ``tracks/<contig>`` of its store."""
    from ..genome.store_format import quiet_zarr_string_warnings
    from .tracks import tile_tracks

    run = open_run(path)
    per_base = run.window_prediction.expand_dims(positions=run.sizes["positions"], axis=1)
    predictions = tile_tracks(run, per_base)
    actual = tile_tracks(run, actual_contributions(run)) if "window_hypothetical" in run else {}
    for contig, track in predictions.items():
        variables = {"track_prediction": track.rename({track.dims[-1]: "targets"}).astype(np.float32)}
        if contig in actual:
            variables["track_actual"] = actual[contig].astype(np.float32)
        ds = xr.Dataset(variables, coords={"target_id": ("targets", run.target_id.values)},
                        attrs={"contig": contig, "coordinates": "0-based; positions index the contig"})
        with quiet_zarr_string_warnings():
            ds.to_zarr(path, group=f"tracks/{contig}", mode="w", zarr_format=3, consolidated=False)


def open_tracks(path: str | os.PathLike) -> dict[str, xr.Dataset]:
    """The stitched per-contig tracks of a tile run (``track_prediction``, ``track_actual``)."""
    import zarr

    from ..genome.store_format import quiet_zarr_string_warnings

    root = zarr.open_group(path, mode="r")
    if "tracks" not in root:
        return {}
    with quiet_zarr_string_warnings():
        return {name: xr.open_zarr(path, group=f"tracks/{name}", consolidated=False, zarr_format=3)
                for name in root["tracks"].group_keys()}


def open_run(path: str | os.PathLike) -> xr.Dataset:
    """Open a run's store lazily."""
    from ..genome.store_format import quiet_zarr_string_warnings

    with quiet_zarr_string_warnings():
        return xr.open_zarr(path, consolidated=False, zarr_format=3)


def actual_contributions(run: xr.Dataset) -> xr.DataArray:
    """Per-base actual contribution (windows, positions): the hypothetical one of the base present.

    Zero at N and masked positions. Lazy.
    """
    base = run.window_sequence & 7
    one_hot = xr.concat([base == b for b in range(4)], dim="bases").transpose("windows", "positions", "bases")
    actual = (run.window_hypothetical * one_hot).sum("bases").astype(np.float32)
    return actual.rename("window_actual")
