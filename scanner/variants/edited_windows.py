"""Windows of an edited genome: alleles applied, the layout rebuilt around its anchors.

An edit replaces the REF bases ``[start, start + ref_length)`` by the ALT bases,
as ``bcftools consensus`` does. Edits change coordinates, so each window segment
is re-placed around an anchor that keeps its meaning in the edited sequence:

- gene windows: the gene start for the segment around the gene start, the gene
  end for the one around the gene end (DeepCRE layout); the 5' end of the gene
  for the promoter layout. The segment keeps its length and its distance to the
  anchor, so TSS and TTS stay at their window positions;
- windows centred on a variant: the variant's first base, so the ALT allele sits
  where the REF allele sat and the window is re-trimmed to the input length.

Positions map from the genome to the edited sequence as a chain file would: a
base before, after or inside an equal-length stretch of an edit moves with the
edits before it; a base deleted by an edit maps to the first base after the kept
part of the ALT allele (:func:`map_positions`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..genome.alphabet import N, SOFT_MASK_BIT

#: Marks the bases an edit brought in, in the marker track built beside the
#: codes: an N with the soft-mask bit, which the reverse complement leaves alone.
_ALLELE_MARK = N | SOFT_MASK_BIT


def non_overlapping(start: np.ndarray, ref_length: np.ndarray) -> np.ndarray:
    """Edits to keep (bool) when applied in position order: one overlapping an
    earlier kept edit is dropped, as ``bcftools consensus`` does.

    Parameters
    ----------
    start, ref_length : ndarray of int64 (edits,), sorted by ``start``
    """
    keep = np.ones(start.size, dtype=bool)
    end = np.iinfo(np.int64).min
    for i in range(start.size):
        if start[i] < end:
            keep[i] = False
        else:
            end = start[i] + ref_length[i]
    return keep


def apply_edits(span: np.ndarray, span_start: int, start: np.ndarray, ref_length: np.ndarray, alt_codes) -> tuple[np.ndarray, np.ndarray]:
    """The edited sequence of a genome span.

    Parameters
    ----------
    span : ndarray of uint8 (positions,)
        Genome codes from ``span_start``.
    start, ref_length : ndarray of int64 (edits,)
        Sorted, non-overlapping, inside the span.
    alt_codes : list of ndarray of uint8

    Returns
    -------
    codes : ndarray of uint8
        The edited span (it starts at ``span_start`` in edited coordinates too).
    marker : ndarray of uint8, same shape
        ``N`` for genome bases, ``N | soft-mask`` for bases an edit brought in.
    """
    pieces, marks, cursor = [], [], span_start
    for s, r, alt in zip(start.tolist(), ref_length.tolist(), alt_codes):
        kept = span[cursor - span_start : s - span_start]
        pieces += [kept, np.asarray(alt, dtype=np.uint8)]
        marks += [np.full(kept.size, N, np.uint8), np.full(len(alt), _ALLELE_MARK, np.uint8)]
        cursor = s + r
    tail = span[cursor - span_start :]
    pieces.append(tail)
    marks.append(np.full(tail.size, N, np.uint8))
    return np.concatenate(pieces), np.concatenate(marks)


def map_positions(position: np.ndarray, start: np.ndarray, ref_length: np.ndarray, alt_length: np.ndarray) -> np.ndarray:
    """Genome positions in edited coordinates (see the module notes).

    Parameters
    ----------
    position : ndarray of int64
    start, ref_length, alt_length : ndarray of int64 (edits,), sorted, non-overlapping

    Returns
    -------
    ndarray of int64, shape of ``position``
    """
    position = np.asarray(position, dtype=np.int64)
    if start.size == 0:
        return position.copy()
    end = start + ref_length
    shift = np.concatenate([[0], np.cumsum(alt_length - ref_length)])
    ended = np.searchsorted(end, position, side="right")  # edits wholly before each position
    mapped = position + shift[ended]
    # an edit that holds the position (start < position < end) is edit number `ended`
    k = np.minimum(ended, start.size - 1)
    inside = (ended < start.size) & (start[k] < position) & (position < end[k])
    edited_start = start[k] + shift[k]
    mapped = np.where(inside, edited_start + np.minimum(position - start[k], alt_length[k]), mapped)
    return mapped


def segment_anchors(windows: xr.Dataset) -> np.ndarray:
    """The genome anchor of each segment of gene windows.

    Parameters
    ----------
    windows : xarray.Dataset
        From :func:`scanner.gene_windows`.

    Returns
    -------
    ndarray of int64, shape (windows, segments)
    """
    layout = windows.attrs.get("layout")
    gene_start = windows.window_gene_start.values.astype(np.int64)[:, None]
    gene_end = windows.window_gene_end.values.astype(np.int64)[:, None]
    seg_start = windows.window_segment_start.values
    if layout == "deepcre":
        upstream = int(windows.attrs["upstream"])
        return np.where(seg_start == gene_start - upstream, gene_start, gene_end).astype(np.int64)
    if layout == "promoter":
        minus = (windows.window_strand.values == "-")[:, None]
        return np.broadcast_to(np.where(minus, gene_end, gene_start), seg_start.shape).astype(np.int64).copy()
    raise ValueError(f"windows of layout {layout!r} have no gene anchors; score variants on gene windows or --tiles")


def edited_window(span: np.ndarray, span_start: int, start: np.ndarray, ref_length: np.ndarray, alt_codes,
                  seg_start: np.ndarray, seg_end: np.ndarray, seg_offset: np.ndarray, anchor: np.ndarray, minus: bool,
                  length: int, masked: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One window of the edited genome.

    Parameters
    ----------
    span : ndarray of uint8
        Genome codes from ``span_start``, wide enough that every segment, moved by
        the edits, stays inside it.
    start, ref_length : ndarray of int64 (edits,)
        Sorted, non-overlapping edits inside the span.
    alt_codes : list of ndarray of uint8
    seg_start, seg_end, seg_offset, anchor : ndarray of int64 (segments,)
        The window's layout in genome coordinates and each segment's anchor.
    minus : bool
        Reverse-complement (window in transcript orientation on '-').
    length : int
    masked : ndarray of bool (length,), optional
        Window positions set to N (the layout's masked positions).

    Returns
    -------
    codes : ndarray of uint8 (length,)
    allele : ndarray of bool (length,)
        Window positions holding bases an edit brought in.
    """
    from ..tiling.sequences_numba_fns import fill_windows

    edited, marker = apply_edits(span, span_start, start, ref_length, alt_codes)
    alt_length = np.array([len(a) for a in alt_codes], dtype=np.int64)
    moved = map_positions(anchor, start, ref_length, alt_length) - anchor
    new_start = np.where(seg_end > seg_start, seg_start + moved, seg_start)[None, :]
    new_end = np.where(seg_end > seg_start, seg_end + moved, seg_end)[None, :]
    if new_start.min() < span_start or new_end.max() > span_start + edited.size:
        raise ValueError("edited window runs outside the span read for it; widen the span")
    out = np.full((1, length), N, dtype=np.uint8)
    mark = np.full((1, length), N, dtype=np.uint8)
    offsets = seg_offset[None, :]
    flags = np.array([minus])
    fill_windows(edited, span_start, new_start, new_end, offsets, flags, out)
    fill_windows(marker, span_start, new_start, new_end, offsets, flags, mark)
    if masked is not None:
        out[0, masked] = N
    return out[0], mark[0] == _ALLELE_MARK


def span_for(seg_start: np.ndarray, seg_end: np.ndarray, length: int, edited: int) -> tuple[int, int]:
    """A genome span wide enough for :func:`edited_window`: the window's genome span
    widened by the window length and by ``edited``, at least the bases the edits
    replace plus those they insert or delete."""
    used = seg_end > seg_start
    lo = int(seg_start[used].min()) if used.any() else 0
    hi = int(seg_end[used].max()) if used.any() else 0
    return lo - length - edited, hi + length + edited
