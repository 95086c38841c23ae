"""Per-variant effects: each ALT allele predicted in every window it falls in.

The REF windows are an ordinary prediction (or attribution) run over the windows
that hold a scorable allele; the ALT windows are built from the genome with the
allele applied (:mod:`scanner.variants.edited_windows`), written as codes beside
the output and run through the same block runner. Both runs are resumable with
the runner's ledger, and a finished run is reused when the job starts again, so
an interrupted job redoes only what was not finished.

Scores (dims ``effects``/``targets``): the REF and ALT prediction (the
probability for classification models, the model output for regression), their
difference (ALT - REF) and log2 ratio (ALT / REF; NaN where either is <= 0). With
an attribution method, also the summed actual contribution of the allele's bases
in the REF and in the ALT window, and their change. Per variant (dims
``variants``, ``alt_alleles``, ``targets``), the effect in the window where the
difference is largest in absolute value.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import xarray as xr

from ..storage import replace_directory
from ..variables import annotate
from .alleles import AlleleTable, allele_table
from .variant_windows import Effects, allele_windows, centred_windows, gene_effects, window_anchors

log = logging.getLogger(__name__)

#: Effects built per step when writing ALT windows (bounds memory: 4096 x 2 x length bytes).
BUILD_ROWS = 4096


def _as_probability(values: np.ndarray, task: str) -> np.ndarray:
    values = values.astype(np.float64)
    return 1.0 / (1.0 + np.exp(-values)) if task == "classification" else values


def _log2_ratio(alt: np.ndarray, ref: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log2(alt / ref)
    return np.where((alt > 0) & (ref > 0), ratio, np.nan)


def _effect_windows(genome, alleles: AlleleTable, card, *, gff, tiles: bool, alias_file) -> tuple[xr.Dataset, Effects]:
    if tiles:
        return centred_windows(genome, alleles, card.input_length)
    if gff is None:
        raise ValueError("gene mode needs the annotation (gff); or score windows centred on variants (tiles=True)")
    from ..tiling.genes import gene_windows_for_layout

    windows = gene_windows_for_layout(genome, gff, card.window_layout, alias_file=alias_file).compute()
    return windows, gene_effects(windows, alleles)


def write_alt_codes(genome, windows: xr.Dataset, alleles: AlleleTable, effects: Effects, path: Path, *,
                    chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Write the ALT window of every effect to the Zarr array ``path``.

    Returns
    -------
    ref_slots, alt_slots : ndarray of int64 (effects, 2)
        First and last window position of the REF / ALT bases (-1: none).
    """
    import zarr

    length = int(windows.attrs["window_length"])
    n = effects.allele.size
    array = zarr.create_array(path, shape=(n, length), chunks=(max(1, min(chunk, n)), length), dtype="uint8",
                              fill_value=4, overwrite=True, zarr_format=3)
    ref_slots = np.full((n, 2), -1, np.int64)
    alt_slots = np.full((n, 2), -1, np.int64)
    anchors = window_anchors(windows)
    step = max(chunk, BUILD_ROWS // chunk * chunk)  # whole chunks per write
    for lo in range(0, n, step):
        rows = np.arange(lo, min(lo + step, n))
        built = allele_windows(genome, windows, anchors, alleles, effects, rows)
        array[lo : rows[-1] + 1] = built.alt
        ref_slots[rows], alt_slots[rows] = built.ref_slots, built.alt_slots
    return ref_slots, alt_slots


def _slot_sums(contributions: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Sum of (effects, positions) contributions over each row's inclusive slot range."""
    cumulative = np.concatenate([np.zeros((contributions.shape[0], 1)), np.cumsum(contributions, axis=1)], axis=1)
    rows = np.arange(slots.shape[0])
    total = cumulative[rows, slots[:, 1] + 1] - cumulative[rows, slots[:, 0]]
    return np.where(slots[:, 0] >= 0, total, np.nan)


def score_variants(variants: xr.Dataset, genome, model_path: str | os.PathLike, output: str | os.PathLike, *,
                   gff=None, tiles: bool = False, alias_file=None, strict: bool = False, attribution: str | None = None,
                   motifs=None, motif_pvalue: float = 1e-4, motif_background="uniform", client=None,
                   block_size: int = 256, batch_size: int = 128, device: str = "auto", gpu: bool = False,
                   keep_work: bool = False, calls: bool = False, on_progress=None) -> xr.Dataset:
    """Score every ALT allele of ``variants`` with the model; write the effects to ``output``.

    Parameters
    ----------
    variants : xarray.Dataset
        From :func:`scanner.variants.read_variants` (genotypes are not needed).
    genome : Genome
    model_path : path-like
        ``.model`` file or user card.
    output : path-like
        Zarr store to write; replaced only when the job finishes.
    gff : path-like, optional
        Gene annotation: score alleles in the gene windows of the model's layout.
    tiles : bool
        Instead, score each variant in a window centred on it.
    alias_file : path-like, optional
    strict : bool
        Refuse a REF that disagrees with the genome instead of skipping it.
    attribution : str, optional
        Attribution method (``gradient``, ``deeplift-shap``, ``integrated-gradients``,
        ``ism``) for the contribution change at the allele.
    motifs : motif file or database spec, optional
        Report motif gains and losses around each allele (see
        :func:`scanner.variants.motif_changes.motif_changes`).
    motif_pvalue : float
    motif_background : str or array
    client, block_size, batch_size, device, gpu
        As in :func:`scanner.inference.run.run_windows`.
    keep_work : bool
        Keep the REF/ALT runs beside the output (``.NAME.work``) after success.
    calls : bool
        Also ``call_difference`` (variants, samples, targets): for each sample's
        call, the sum of the differences of the ALT alleles it carries (a
        dosage-weighted effect; NaN where an allele of the call is missing).
        Needs the genotypes.
    on_progress : callable, optional
        ``on_progress(stage, done, total)``.

    Returns
    -------
    xarray.Dataset
        The effects store (see the module notes), opened lazily.
    """
    from ..inference.run import actual_contributions, run_windows
    from ..models.model_file import read_card

    output = Path(output)
    card = read_card(model_path)
    alleles = allele_table(variants, genome, alias_file=alias_file, strict=strict)
    windows, effects = _effect_windows(genome, alleles, card, gff=gff, tiles=tiles, alias_file=alias_file)
    card.check_windows(int(windows.attrs["window_length"]), windows.attrs.get("layout"), where=str(model_path))
    scored = np.zeros(alleles.status.size, bool)
    scored[effects.allele] = True
    status = np.where(alleles.ok & ~scored, "outside_windows", alleles.status)
    counts = {k: v for k, v in alleles.counts.items() if k != "missing_contigs"}
    counts["outside_windows"] = int((status == "outside_windows").sum())
    counts["effects"] = int(effects.allele.size)
    log.info("variant alleles: %s", counts)

    work = output.with_name(f".{output.name}.work")
    work.mkdir(parents=True, exist_ok=True)
    method = attribution or "predict"
    used, effect_window = np.unique(effects.window, return_inverse=True)
    ref_windows = windows.isel(windows=used)
    alt_windows = ref_windows.isel(windows=effect_window)
    common = dict(method=method, client=client, block_size=block_size, batch_size=batch_size, device=device, gpu=gpu)

    def progress(stage):
        return (lambda done, total: on_progress(stage, done, total)) if on_progress else None

    if effects.allele.size:
        ref_run = run_windows(genome, ref_windows, model_path, work / "ref.zarr", on_progress=progress("REF windows"), **common)
        block = -(-int(block_size) // int(batch_size)) * int(batch_size)
        ref_slots, alt_slots = write_alt_codes(genome, windows, alleles, effects, work / "alt_codes.zarr", chunk=block)
        alt_run = run_windows(genome, alt_windows, model_path, work / "alt.zarr", codes=work / "alt_codes.zarr",
                              on_progress=progress("ALT windows"), **common)
        ref_raw = ref_run.window_prediction.values[effect_window]
        alt_raw = alt_run.window_prediction.values
    else:
        targets = len(card.targets)
        ref_raw = alt_raw = np.zeros((0, targets), np.float32)
        ref_slots = alt_slots = np.zeros((0, 2), np.int64)
    ref = _as_probability(ref_raw, card.task)
    alt = _as_probability(alt_raw, card.task)
    data = {
        "effect_variant": ("effects", alleles.variant[effects.allele]),
        "effect_allele": ("effects", alleles.alt[effects.allele]),
        "effect_window": ("effects", used[effect_window] if effects.allele.size else np.zeros(0, np.int64)),
        "effect_ref_slot": ("effects", ref_slots[:, 0]),
        "effect_ref_prediction": (("effects", "targets"), ref),
        "effect_alt_prediction": (("effects", "targets"), alt),
        "effect_difference": (("effects", "targets"), alt - ref),
        "effect_log2_ratio": (("effects", "targets"), _log2_ratio(alt, ref)),
    }
    if "window_gene_id" in windows:
        data["effect_gene_id"] = ("effects", windows.window_gene_id.values[effects.window].astype(str))
    if attribution and effects.allele.size:
        ref_contrib = actual_contributions(ref_run).values[effect_window]
        alt_contrib = actual_contributions(alt_run).values
        ref_sum, alt_sum = _slot_sums(ref_contrib, ref_slots), _slot_sums(alt_contrib, alt_slots)
        data["effect_ref_contribution"] = ("effects", ref_sum)
        data["effect_alt_contribution"] = ("effects", alt_sum)
        data["effect_contribution_change"] = ("effects", alt_sum - ref_sum)
    ds = xr.Dataset(data)
    ds = ds.merge(_per_variant(variants, alleles, status, ds))
    if calls:
        ds["call_difference"] = _call_scores(variants, ds.variant_difference.values)
    ds = ds.merge(_source_variables(variants))
    ds = ds.assign(target_id=("targets", np.array(card.targets, dtype=str)))
    if "window_gene_id" in windows:
        ds = ds.assign(gene_id=("windows", windows.window_gene_id.values.astype(str)))
    if motifs is not None:
        from .motif_changes import motif_changes

        ds = ds.merge(motif_changes(genome, alleles, motifs, pvalue=motif_pvalue, background=motif_background))
    ds.attrs = {
        "source": variants.attrs.get("source", ""),
        "region": variants.attrs.get("region", ""),
        "genome_path": str(genome.path),
        "model_path": str(model_path),
        "mode": "tiles" if tiles else "genes",
        "prediction_scale": "probability" if card.task == "classification" else "model output",
        "attribution": attribution or "",
        "position_convention": "1-based positions as in the VCF; window slots 0-based",
        **{f"count_{k}": int(v) for k, v in counts.items()},
        "missing_contigs": list(alleles.counts.get("missing_contigs", [])),
    }
    _write(annotate(ds), output)
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return xr.open_zarr(output, consolidated=False)


def _per_variant(variants: xr.Dataset, alleles: AlleleTable, status: np.ndarray, effects: xr.Dataset) -> xr.Dataset:
    n, width = variants.variant_allele.shape
    alt_alleles = max(width - 1, 1)
    targets = effects.sizes["targets"]
    status_array = np.full((n, alt_alleles), "", dtype="<U16")
    status_array[alleles.variant, alleles.alt - 1] = status
    out = {name: np.full((n, alt_alleles, targets), np.nan) for name in ("ref_prediction", "alt_prediction", "difference", "log2_ratio")}
    windows = np.zeros((n, alt_alleles), np.int32)
    if effects.sizes["effects"]:
        v = effects.effect_variant.values
        a = effects.effect_allele.values - 1
        size = np.nanmax(np.abs(effects.effect_difference.values), axis=1)
        size = np.where(np.isnan(size), -1.0, size)
        # largest |difference| first, so the first row of each (variant, allele) wins
        order = np.lexsort((-size, a, v))
        first = np.ones(order.size, bool)
        first[1:] = (v[order][1:] != v[order][:-1]) | (a[order][1:] != a[order][:-1])
        best = order[first]
        for name in out:
            out[name][v[best], a[best]] = effects[f"effect_{name}"].values[best]
        np.add.at(windows, (v, a), 1)
    data = {f"variant_{name}": (("variants", "alt_alleles", "targets"), values) for name, values in out.items()}
    data["variant_windows_scored"] = (("variants", "alt_alleles"), windows)
    data["variant_allele_status"] = (("variants", "alt_alleles"), status_array)
    return xr.Dataset(data)


def _call_scores(variants: xr.Dataset, per_allele: np.ndarray) -> xr.DataArray:
    """Sum over each call's alleles of the per-ALT score (REF adds 0; unscored ALTs add 0)."""
    if "call_genotype" not in variants:
        raise ValueError("per-sample scores need the genotypes; read the variants with genotypes=True")
    genotype = variants.call_genotype.values.astype(np.int64)  # (variants, samples, ploidy)
    scores = np.nan_to_num(per_allele, nan=0.0)  # (variants, alt_alleles, targets)
    padded = np.concatenate([np.zeros((scores.shape[0], 1, scores.shape[2])), scores], axis=1)
    index = np.clip(genotype, 0, padded.shape[1] - 1)
    rows = np.arange(genotype.shape[0])[:, None, None]
    total = padded[rows, index].sum(axis=2)  # (variants, samples, targets)
    missing = (genotype == -1).any(axis=2)
    total[missing] = np.nan
    return xr.DataArray(total.astype(np.float32), dims=("variants", "samples", "targets"))


def _source_variables(variants: xr.Dataset) -> xr.Dataset:
    keep = [n for n in ("variant_contig", "variant_position", "variant_allele", "variant_id", "variant_index",
                        "contig_id", "sample_id") if n in variants]
    return variants[keep]


def _write(ds: xr.Dataset, output: Path) -> None:
    from ..genome.store_format import quiet_zarr_string_warnings

    ds = ds.reset_coords()
    for variable in ds.variables.values():  # encodings copied from a source store (Zarr v2 codecs) do not carry over
        variable.encoding = {}
    partial = output.with_name(f".{output.name}.writing")
    if partial.exists():
        shutil.rmtree(partial)
    with quiet_zarr_string_warnings():
        ds.to_zarr(partial, mode="w", zarr_format=3, consolidated=False)
    replace_directory(partial, output)

