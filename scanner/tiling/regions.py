"""Windows from intervals (BED) and matched background windows.

Region windows are centred on each interval's midpoint. Background windows copy
the geometry of a set of windows (their segments relative to the window start, so
gene layouts keep their two halves) to random places of the same genome, avoiding
the originals, and are matched to them in GC content: the usual negatives for
"is this a promoter / a peak" models.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..genome.alphabet import N
from ..variables import annotate, validate
from .aliases import map_contigs

log = logging.getLogger(__name__)


class BedFormatError(ValueError):
    """A BED file that cannot be read."""


def read_bed(path: str | os.PathLike) -> pd.DataFrame:
    """Read the first 3 to 6 BED columns (header, track and browser lines skipped).

    Returns
    -------
    pandas.DataFrame
        ``contig`` (str), ``start``, ``end`` (int64, 0-based half-open), ``name``
        (str; ``<contig>:<start>-<end>`` when absent), ``strand`` ('+', '-' or '.'),
        ``line`` (1-based line number in the file).
    """
    import gzip

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n\r").split("\t")
            if len(fields) < 3:
                raise BedFormatError(f"{path}, line {number}: expected at least 3 tab-separated columns, got {len(fields)}")
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                raise BedFormatError(f"{path}, line {number}: start and end must be integers, got {fields[1]!r}, {fields[2]!r}") from None
            if start < 0 or end <= start:
                raise BedFormatError(f"{path}, line {number}: need 0 <= start < end, got {start}, {end}")
            name = fields[3] if len(fields) > 3 and fields[3] not in ("", ".") else f"{fields[0]}:{start}-{end}"
            strand = fields[5] if len(fields) > 5 else "."
            if strand not in ("+", "-", "."):
                raise BedFormatError(f"{path}, line {number}: strand must be '+', '-' or '.', got {strand!r}")
            rows.append((fields[0], start, end, name, strand, number))
    if not rows:
        raise BedFormatError(f"{path}: no intervals")
    return pd.DataFrame(rows, columns=["contig", "start", "end", "name", "strand", "line"]).astype(
        {"start": np.int64, "end": np.int64}
    )


def _windows_dataset(genome, contig, strand, seg_start, seg_end, seg_offset, names, *, length, masked, attrs,
                     chunk_size) -> xr.Dataset:
    per_window = {
        "window_contig": ("windows", contig.astype(np.int32)),
        "window_start": ("windows", seg_start.min(axis=1)),
        "window_end": ("windows", seg_end.max(axis=1)),
        "window_strand": ("windows", np.asarray(strand).astype("<U1")),
        "window_segment_start": (("windows", "segments"), seg_start),
        "window_segment_end": (("windows", "segments"), seg_end),
        "window_segment_offset": (("windows", "segments"), seg_offset),
        "window_name": ("windows", np.asarray(names).astype(str)),
    }
    ds = xr.Dataset(
        {
            **per_window,
            "position_masked": ("positions", masked),
            "contig_id": ("contigs", genome.contigs.contig_id.values),
            "contig_length": ("contigs", genome.contigs.contig_length.values),
        },
        attrs={"window_length": int(length), "genome_path": str(genome.path), "coordinates": "0-based, half-open", **attrs},
    )
    ds = ds.assign({name: ds[name].chunk({"windows": chunk_size}) for name in per_window})
    validate(ds)
    return annotate(ds)


def region_windows(genome, regions: pd.DataFrame, *, length: int, alias_file=None, chunk_size: int = 1024) -> xr.Dataset:
    """One window of ``length`` bases centred on each region's midpoint.

    Parameters
    ----------
    genome : Genome
    regions : pandas.DataFrame
        From :func:`read_bed`. Strand '-' windows are reverse-complemented.
    length : int
    alias_file : path-like, optional
        Contig name aliases.

    Returns
    -------
    xarray.Dataset
        Windows dataset (layout ``regions``) with ``window_name``. Regions on contigs
        missing from the genome, or whose window runs off the contig, are dropped
        and counted in the attributes (and logged).
    """
    mapping = map_contigs(regions.contig.unique(), genome.contig_names, alias_file=alias_file)
    known = regions.contig.isin(mapping).to_numpy()
    table = regions[known]
    contig = np.array([genome.contig_index(mapping[c]) for c in table.contig], dtype=np.int64)
    middle = (table.start.to_numpy() + table.end.to_numpy()) // 2
    start = middle - length // 2
    inside = (start >= 0) & (start + length <= genome.contigs.contig_length.values[contig])
    counts = {
        "regions": int(len(regions)),
        "regions_unknown_contig": int((~known).sum()),
        "regions_off_contig_edge": int((~inside).sum()),
    }
    if counts["regions_unknown_contig"]:
        missing = sorted(set(regions.contig[~known]))
        log.warning("%d regions on contigs not in the genome (%s); skipped", counts["regions_unknown_contig"], ", ".join(missing[:5]))
    if counts["regions_off_contig_edge"]:
        log.warning("%d regions whose %d-base window runs off the contig; skipped", counts["regions_off_contig_edge"], length)
    start = start[inside]
    strand = np.where(table.strand.to_numpy()[inside] == "-", "-", "+")
    counts["windows"] = int(inside.sum())
    return _windows_dataset(
        genome, contig[inside], strand, start[:, None], (start + length)[:, None], np.zeros((len(start), 1), np.int64),
        table.name.to_numpy()[inside], length=length, masked=np.zeros(length, bool), attrs={"layout": "regions", **counts},
        chunk_size=chunk_size,
    )


def _merged_spans(contig: np.ndarray, seg_start: np.ndarray, seg_end: np.ndarray, n_contigs: int):
    """Per contig, disjoint sorted (starts, ends) covering all non-empty segments."""
    merged = []
    for index in range(n_contigs):
        rows = contig == index
        starts, ends = seg_start[rows].ravel(), seg_end[rows].ravel()
        keep = ends > starts
        order = np.argsort(starts[keep], kind="stable")
        starts, ends = starts[keep][order], ends[keep][order]
        if len(starts) == 0:
            merged.append((starts, ends))
            continue
        reach = np.maximum.accumulate(ends)
        new = np.concatenate([[True], starts[1:] > reach[:-1]])
        merged.append((starts[new], np.maximum.reduceat(ends, np.flatnonzero(new))))
    return merged


def _overlaps(merged, contig, start, end) -> np.ndarray:
    hit = np.zeros(len(contig), dtype=bool)
    for index, (starts, ends) in enumerate(merged):
        rows = np.flatnonzero(contig == index)
        if len(rows) == 0 or len(starts) == 0:
            continue
        after = np.searchsorted(ends, start[rows], side="right")
        clipped = np.minimum(after, len(starts) - 1)
        hit[rows] = (after < len(starts)) & (starts[clipped] < end[rows])
    return hit


def overlapping(windows: xr.Dataset, others: xr.Dataset) -> np.ndarray:
    """Whether each window of ``others`` shares a base with any window of ``windows``.

    Parameters
    ----------
    windows, others : xarray.Dataset
        Window datasets (:func:`region_windows`, :func:`scanner.gene_windows`) of one genome.

    Returns
    -------
    ndarray of bool, shape (others.sizes["windows"],)
    """
    n_contigs = int(max(windows.window_contig.values.max(initial=-1), others.window_contig.values.max(initial=-1))) + 1
    merged = _merged_spans(windows.window_contig.values.astype(np.int64), windows.window_segment_start.values,
                           windows.window_segment_end.values, n_contigs)
    contig = others.window_contig.values.astype(np.int64)
    hit = np.zeros(len(contig), dtype=bool)
    seg_start, seg_end = others.window_segment_start.values, others.window_segment_end.values
    for segment in range(seg_start.shape[1]):
        used = seg_end[:, segment] > seg_start[:, segment]
        hit |= used & _overlaps(merged, contig, seg_start[:, segment], seg_end[:, segment])
    return hit


def gene_anchors(windows: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first and last base of each gene of gene windows, as (contig, start, end) arrays."""
    contig = windows.window_contig.values.astype(np.int64)
    first = windows.window_gene_start.values.astype(np.int64)
    last = windows.window_gene_end.values.astype(np.int64) - 1
    starts = np.concatenate([first, last])
    return np.concatenate([contig, contig]), starts, starts + 1


def gc_fraction(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GC fraction of called bases and N fraction per window.

    Parameters
    ----------
    codes : ndarray of uint8, shape (windows, positions)

    Returns
    -------
    gc, n : ndarray of float64, shape (windows,)
    """
    base = codes & 7
    called = (base < N).sum(axis=1)
    gc = ((base == 1) | (base == 2)).sum(axis=1)
    return gc / np.maximum(called, 1), 1.0 - called / codes.shape[1]


def matched_background(genome, windows: xr.Dataset, codes: np.ndarray, *, ratio: float = 1.0, seed: int = 0,
                       bins: int = 20, oversample: int = 20, max_n_fraction: float = 0.1,
                       avoid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> xr.Dataset:
    """Background windows with the geometry and GC distribution of ``windows``.

    Each candidate copies one window's segment layout (relative to its start) and
    mask to a uniformly random place on a random contig (chosen by length) and a
    random strand. Candidates whose segments overlap ``avoid`` (default: any segment
    of ``windows``), running off a contig, or with more than ``max_n_fraction`` N
    (beyond the layout's own N) are rejected; the rest are
    matched to the GC histogram of ``windows`` (``bins`` equal bins), ``ratio``
    background windows per window.

    Parameters
    ----------
    genome : Genome
    windows : xarray.Dataset
        The positive windows (gene or region layout), computed or lazy.
    codes : ndarray of uint8, shape (windows, positions)
        Their sequences (from :func:`scanner.window_sequences`), for their GC.
    ratio : float
    seed : int
    bins, oversample : int
        GC bins; candidates drawn per wanted window.
    max_n_fraction : float
    avoid : (contig, start, end) arrays, optional
        Intervals no background segment may touch. In gene-dense genomes the gene
        windows cover most of the genome, so gene layouts avoid the genes' start and
        end bases instead (see :func:`gene_anchors`).

    Returns
    -------
    xarray.Dataset
        Same layout as ``windows`` (``layout`` attribute kept), names
        ``background_<n>``; attributes count the wanted, drawn and matched windows
        and any shortfall per GC bin (logged as a warning).
    """
    from .sequences import window_sequences

    rng = np.random.default_rng(seed)
    contig = windows.window_contig.values.astype(np.int64)
    seg_start = windows.window_segment_start.values
    seg_end = windows.window_segment_end.values
    seg_offset = windows.window_segment_offset.values
    origin = windows.window_start.values
    lengths = genome.contigs.contig_length.values.astype(np.int64)
    if avoid is None:
        merged = _merged_spans(contig, seg_start, seg_end, len(lengths))
    else:
        merged = _merged_spans(avoid[0], avoid[1][:, None], avoid[2][:, None], len(lengths))
    wanted = int(round(ratio * len(contig)))
    positive_gc, positive_n = gc_fraction(codes)
    edges = np.linspace(0.0, 1.0, bins + 1)
    positive_bin = np.clip(np.digitize(positive_gc, edges) - 1, 0, bins - 1)
    target = np.bincount(rng.choice(positive_bin, size=wanted, replace=wanted > len(positive_bin)), minlength=bins)

    draws = max(wanted * oversample, 1)
    template = rng.integers(0, len(contig), size=draws)
    where = rng.choice(len(lengths), size=draws, p=lengths / lengths.sum())
    span = windows.window_end.values - origin
    room = lengths[where] - span[template]
    ok = room > 0
    template, where, room = template[ok], where[ok], room[ok]
    shift_to = (rng.random(len(room)) * room).astype(np.int64)
    relative_start = seg_start[template] - origin[template, None]
    relative_end = seg_end[template] - origin[template, None]
    empty = seg_end[template] <= seg_start[template]
    new_start = np.where(empty, 0, shift_to[:, None] + relative_start)
    new_end = np.where(empty, 0, shift_to[:, None] + relative_end)
    flip = rng.random(len(template)) < 0.5
    strand = np.where(windows.window_strand.values[template] == "-", "-", "+")
    strand = np.where(flip, np.where(strand == "-", "+", "-"), strand)
    if new_start.shape[1] > 1:
        # a flipped gene layout reads its segments from the other end: mirror them
        width = span[template]
        mirrored_start = np.where(empty, 0, shift_to[:, None] + (width[:, None] - relative_end))
        mirrored_end = np.where(empty, 0, shift_to[:, None] + (width[:, None] - relative_start))
        new_start = np.where(flip[:, None], mirrored_start, new_start)
        new_end = np.where(flip[:, None], mirrored_end, new_end)
    clear = np.ones(len(template), dtype=bool)
    for segment in range(new_start.shape[1]):
        used = ~empty[:, segment]
        clear &= ~(used & _overlaps(merged, where, new_start[:, segment], new_end[:, segment]))
    masked = windows.position_masked.values if "position_masked" in windows else np.zeros(int(windows.attrs["window_length"]), bool)
    keep_attrs = {k: v for k, v in windows.attrs.items() if k in ("layout", "upstream", "downstream", "spacer", "short_genes", "contig_edges")}
    candidates = _windows_dataset(
        genome, where[clear], strand[clear], new_start[clear], new_end[clear], seg_offset[template][clear],
        np.array([f"candidate_{i}" for i in range(int(clear.sum()))]), length=int(windows.attrs["window_length"]),
        masked=masked, attrs=keep_attrs, chunk_size=4096,
    )
    candidate_codes = window_sequences(genome, candidates).data.compute(scheduler="threads")
    gc, n_fraction = gc_fraction(candidate_codes)
    usable = n_fraction <= max_n_fraction + positive_n.min()  # spacer and masked bases are N in every window
    candidate_bin = np.clip(np.digitize(gc, edges) - 1, 0, bins - 1)
    chosen = []
    shortfall = {}
    for b in range(bins):
        pool = np.flatnonzero(usable & (candidate_bin == b))
        take = min(int(target[b]), len(pool))
        if take < target[b]:
            shortfall[f"{edges[b]:.2f}-{edges[b + 1]:.2f}"] = int(target[b] - take)
        chosen.append(rng.choice(pool, size=take, replace=False))
    chosen = np.sort(np.concatenate(chosen)).astype(np.int64)
    if shortfall:
        log.warning("background: %d windows short of the %d wanted in GC bins %s", sum(shortfall.values()), wanted, shortfall)
    out = candidates.isel(windows=chosen)
    out = out.assign(window_name=("windows", np.array([f"background_{i}" for i in range(len(chosen))])))
    out.attrs.update(
        background_wanted=wanted,
        background_candidates=int(len(template)),
        background_clear=int(clear.sum()),
        background_matched=int(len(chosen)),
        background_shortfall=sum(shortfall.values()),
        background_seed=int(seed),
    )
    return annotate(out)
