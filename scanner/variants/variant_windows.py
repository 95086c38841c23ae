"""Which windows each allele falls in, and the REF/ALT windows of each (allele, window).

Gene mode: an allele is scored in every gene window one of whose segments its REF
bases overlap (a pure insertion overlaps through its anchor base). Tile mode: one
window per variant site, centred on its first REF base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..variables import annotate
from .alleles import AlleleTable
from .edited_windows import edited_window, segment_anchors, span_for


@dataclass
class Effects:
    """The (allele, window) pairs to score.

    Attributes
    ----------
    allele : ndarray of int64 (effects,)
        Row in the :class:`AlleleTable`.
    window : ndarray of int64 (effects,)
        Row in the windows table.
    """

    allele: np.ndarray
    window: np.ndarray


def gene_effects(windows: xr.Dataset, alleles: AlleleTable) -> Effects:
    """Every (allele, gene window) pair where the allele's REF bases overlap a segment.

    Parameters
    ----------
    windows : xarray.Dataset
        Gene windows (computed).
    alleles : AlleleTable

    Returns
    -------
    Effects
        Sorted by allele, then window.
    """
    ok = np.flatnonzero(alleles.ok)
    pairs = []
    if ok.size:
        contig = alleles.contig[ok]
        start = alleles.start[ok]
        end = start + alleles.ref_length[ok]
        longest = int(alleles.ref_length[ok].max())
        order = np.lexsort((start, contig))
        key_contig, key_start = contig[order], start[order]
        w_contig = windows.window_contig.values.astype(np.int64)
        seg_start = windows.window_segment_start.values
        seg_end = windows.window_segment_end.values
        for s in range(seg_start.shape[1]):
            used = seg_end[:, s] > seg_start[:, s]
            # alleles starting in [seg_start - longest + 1, seg_end) on the same contig are candidates
            lo = _search(key_contig, key_start, w_contig, seg_start[:, s] - longest + 1)
            hi = _search(key_contig, key_start, w_contig, seg_end[:, s])
            counts = np.where(used, hi - lo, 0)
            w = np.repeat(np.arange(w_contig.size), counts)
            idx = order[np.concatenate([np.arange(a, b) for a, b, c in zip(lo, hi, counts) if c > 0] or [np.zeros(0, np.int64)])]
            hit = end[idx] > seg_start[w, s]
            pairs.append(np.stack([ok[idx[hit]], w[hit]], axis=1))
    pairs = np.unique(np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64), axis=0)
    return Effects(allele=pairs[:, 0].astype(np.int64), window=pairs[:, 1].astype(np.int64))


def _search(key_contig, key_start, contig, position):
    """Index of the first (contig, start) key >= (contig, position), per query."""
    out = np.empty(contig.size, dtype=np.int64)
    for c in np.unique(contig):
        first, last = np.searchsorted(key_contig, [c, c + 1])
        rows = contig == c
        out[rows] = first + np.searchsorted(key_start[first:last], position[rows], side="left")
    return out


def centred_windows(genome, alleles: AlleleTable, length: int) -> tuple[xr.Dataset, Effects]:
    """One window per variant site with a scorable allele, centred on its first REF base.

    The REF base sits at window position ``length // 2``; windows are on '+'
    (the model's strand rule decides about the reverse complement).

    Returns
    -------
    windows : xarray.Dataset
        Layout ``regions``, dims ``windows``, ``segments`` (1), ``positions``,
        ``contigs``; ``window_name`` is ``contig:position`` (1-based).
    effects : Effects
    """
    ok = np.flatnonzero(alleles.ok)
    sites, window_of = np.unique(alleles.variant[ok], return_inverse=True)
    first = np.searchsorted(alleles.variant, sites)  # any allele row of the site gives its contig and start
    contig = alleles.contig[first]
    start = alleles.start[first] - length // 2
    names = [f"{genome.contig_names[c]}:{s + length // 2 + 1}" for c, s in zip(contig, start)]
    ds = xr.Dataset(
        {
            "window_contig": ("windows", contig.astype(np.int32)),
            "window_start": ("windows", start),
            "window_end": ("windows", start + length),
            "window_strand": ("windows", np.full(contig.size, "+", dtype="<U1")),
            "window_segment_start": (("windows", "segments"), start[:, None]),
            "window_segment_end": (("windows", "segments"), (start + length)[:, None]),
            "window_segment_offset": (("windows", "segments"), np.zeros((contig.size, 1), np.int64)),
            "window_name": ("windows", np.array(names, dtype=str)),
            "contig_id": ("contigs", genome.contigs.contig_id.values),
            "contig_length": ("contigs", genome.contigs.contig_length.values),
        },
        attrs={"layout": "regions", "window_length": int(length), "genome_path": str(genome.path),
               "coordinates": "0-based, half-open"},
    )
    return annotate(ds), Effects(allele=ok, window=window_of.astype(np.int64))


def window_anchors(windows: xr.Dataset) -> np.ndarray:
    """Segment anchors (windows, segments): gene anchors, or the centre of centred windows."""
    if windows.attrs.get("layout") in ("deepcre", "promoter"):
        return segment_anchors(windows)
    centre = windows.window_segment_start.values + int(windows.attrs["window_length"]) // 2
    return centre.astype(np.int64)


@dataclass
class AlleleWindows:
    """REF and ALT windows of some effects.

    Attributes
    ----------
    ref, alt : ndarray of uint8 (effects, length)
    ref_slots, alt_slots : ndarray of int64 (effects, 2)
        First and last window position holding the REF (ALT) bases, -1 where none
        (an allele wholly outside the window after re-placing, or in a masked run).
    """

    ref: np.ndarray
    alt: np.ndarray
    ref_slots: np.ndarray
    alt_slots: np.ndarray


class SpanReader:
    """Reads genome spans through one cached block per contig: windows visited in
    genome order then cost one store read per block, not one per window."""

    def __init__(self, genome, block: int = 4_000_000):
        self.genome, self.block = genome, block
        self.cached = (-1, 0, 0, None)

    def fetch(self, contig: int, lo: int, hi: int) -> np.ndarray:
        c, first, last, codes = self.cached
        if c != contig or lo < first or hi > last:
            first, last = lo, max(hi, lo + self.block)
            name = self.genome.contig_names[contig]
            codes = self.genome.fetch(name, first, last)
            self.cached = (contig, first, last, codes)
        return codes[lo - first : hi - first]


def _first_last(mask: np.ndarray) -> tuple[int, int]:
    where = np.flatnonzero(mask)
    return (int(where[0]), int(where[-1])) if where.size else (-1, -1)


def allele_windows(genome, windows: xr.Dataset, anchors: np.ndarray, alleles: AlleleTable, effects: Effects,
                   rows: np.ndarray) -> AlleleWindows:
    """REF and ALT windows of ``effects`` rows ``rows``, each ALT alone in its window.

    The REF window is built by the same edit with the REF bases, so its codes equal
    the genome's window and its allele mask marks the REF bases.
    """
    length = int(windows.attrs["window_length"])
    masked = windows.position_masked.values if "position_masked" in windows else None
    masked = masked if masked is not None and masked.any() else None
    seg_start_all = windows.window_segment_start.values
    seg_end_all = windows.window_segment_end.values
    seg_offset_all = windows.window_segment_offset.values
    minus_all = windows.window_strand.values == "-"
    w_contig = windows.window_contig.values
    n = rows.size
    out = AlleleWindows(ref=np.empty((n, length), np.uint8), alt=np.empty((n, length), np.uint8),
                        ref_slots=np.full((n, 2), -1, np.int64), alt_slots=np.full((n, 2), -1, np.int64))
    # one span per window, wide enough for the longest allele of these rows
    edited = max(int(alleles.ref_length[a]) + len(alleles.alt_codes[a]) for a in effects.allele[rows]) if rows.size else 0
    order = np.argsort(effects.window[rows], kind="stable")
    current, span, lo = -1, None, 0
    reader = SpanReader(genome)
    for i in order:
        a, w = int(effects.allele[rows[i]]), int(effects.window[rows[i]])
        seg = (seg_start_all[w], seg_end_all[w], seg_offset_all[w], anchors[w])
        if w != current:
            lo, hi = span_for(seg[0], seg[1], length, edited)
            span = reader.fetch(int(w_contig[w]), lo, hi)
            current = w
        start = alleles.start[a : a + 1]
        ref_length = alleles.ref_length[a : a + 1]
        ref_codes = span[start[0] - lo : start[0] - lo + ref_length[0]]
        for side, codes in (("ref", ref_codes), ("alt", alleles.alt_codes[a])):
            window, mask = edited_window(span, lo, start, ref_length, [codes], *seg, bool(minus_all[w]), length, masked)
            getattr(out, side)[i] = window
            getattr(out, f"{side}_slots")[i] = _first_last(mask if masked is None else mask & ~masked)
    return out
