"""Windows around genes from GFF3: the DeepCRE layout and a promoter layout.

DeepCRE layout (``layout="deepcre"``; Peleke et al., DeepCRE), in transcript
orientation, 3,020 bases with the defaults::

    [1,000 bp upstream of the gene start + 500 bp into the gene]
    [20 N]
    [500 bp before the gene end + 1,000 bp downstream]

Minus-strand genes are reverse-complemented, so the window always reads 5' -> 3'
along the transcript. As DeepCRE does, the 3 bases after the start (window
positions 1000-1002) and before the end (2017-2019) are set to N
(``position_masked``).

Genes shorter than ``2 * downstream`` (1,000 bp) are handled by ``short_genes``:

- ``"pad"`` (default): take ``gene_length // 2`` bases into the gene instead of
  500 on each side and widen the N spacer, keeping the length (DeepCRE with
  ``ignore_small_genes=no``);
- ``"drop"``: leave them out (DeepCRE with ``ignore_small_genes=yes``);
- ``"overlap"``: take 500 bases anyway, so the two halves overlap (the original
  DeepCRE scripts).

Windows running off a contig end are handled by ``contig_edges``: ``"drop"``
(default, as DeepCRE) or ``"pad"`` with N. Every drop and pad is counted in the
dataset attributes.

Promoter layout (``layout="promoter"``): ``upstream`` bases before the gene start
and ``downstream`` bases from it, in transcript orientation.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import xarray as xr

from ..variables import annotate, validate
from .aliases import map_contigs
from .gff import read_gff3

log = logging.getLogger(__name__)

LAYOUTS = ("deepcre", "promoter")
DEEPCRE_DEFAULTS = {"upstream": 1000, "downstream": 500, "spacer": 20, "mask_width": 3}
PROMOTER_DEFAULTS = {"upstream": 1000, "downstream": 500}


def _segments_deepcre(start, end, minus, *, upstream, downstream, spacer, short_genes):
    gene_length = end - start
    short = gene_length < 2 * downstream
    inside = np.full(start.shape, downstream, dtype=np.int64)
    if short_genes == "pad":
        inside = np.minimum(downstream, gene_length // 2)
    length = 2 * (upstream + downstream) + spacer
    head = np.stack([start - upstream, start + inside], axis=1)  # around the gene start
    tail = np.stack([end - inside, end + upstream], axis=1)  # around the gene end
    first = np.where(minus[:, None], tail, head)  # 5' half in transcript orientation
    second = np.where(minus[:, None], head, tail)
    seg_start = np.stack([first[:, 0], second[:, 0]], axis=1)
    seg_end = np.stack([first[:, 1], second[:, 1]], axis=1)
    offset = np.stack([np.zeros_like(start), length - (upstream + inside)], axis=1)
    return seg_start, seg_end, offset, length, short


def _segments_promoter(start, end, minus, *, upstream, downstream):
    seg_start = np.where(minus, end - downstream, start - upstream)[:, None]
    seg_end = seg_start + upstream + downstream
    return seg_start, seg_end, np.zeros_like(seg_start), upstream + downstream, np.zeros(start.shape, bool)


def gene_windows(
    genome,
    gff: str | os.PathLike,
    *,
    layout: str = "deepcre",
    upstream: int | None = None,
    downstream: int | None = None,
    spacer: int = 20,
    mask_width: int = 3,
    short_genes: str = "pad",
    contig_edges: str = "drop",
    feature_type: str = "gene",
    biotype: str | None = "protein_coding",
    alias_file: str | os.PathLike | None = None,
    chunk_size: int = 1024,
) -> xr.Dataset:
    """One window per gene, laid out around the gene's start and end.

    Parameters
    ----------
    genome : Genome
        From :func:`scanner.open_genome`.
    gff : path-like
        GFF3 annotation (plain or gzip).
    layout : {"deepcre", "promoter"}
    upstream, downstream : int, optional
        Bases outside / inside the gene at each anchor (defaults 1000 and 500).
    spacer : int
        N bases between the two halves (deepcre).
    mask_width : int
        Bases set to N after the gene start and before the gene end (deepcre).
    short_genes : {"pad", "drop", "overlap"}
        Genes shorter than ``2 * downstream`` (deepcre); see the module notes.
    contig_edges : {"drop", "pad"}
        Windows that run off a contig end.
    feature_type, biotype : str
        Which GFF3 features are genes (see :func:`scanner.read_gff3`).
    alias_file : path-like, optional
        Contig name aliases (see :mod:`scanner.tiling.aliases`).
    chunk_size : int
        Windows per dask chunk.

    Returns
    -------
    xarray.Dataset
        Dims ``windows``, ``segments``, ``positions``, ``contigs``. Windows sorted by
        contig and gene start. Attributes hold the layout, its parameters and the
        counts of genes read, dropped and padded.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if short_genes not in ("pad", "drop", "overlap"):
        raise ValueError(f"short_genes must be 'pad', 'drop' or 'overlap', got {short_genes!r}")
    if contig_edges not in ("drop", "pad"):
        raise ValueError(f"contig_edges must be 'drop' or 'pad', got {contig_edges!r}")
    defaults = DEEPCRE_DEFAULTS if layout == "deepcre" else PROMOTER_DEFAULTS
    upstream = defaults["upstream"] if upstream is None else upstream
    downstream = defaults["downstream"] if downstream is None else downstream
    if upstream < 0 or downstream < 1:
        raise ValueError(f"need upstream >= 0 and downstream >= 1, got {upstream}, {downstream}")

    genes = read_gff3(gff, feature_type=feature_type, biotype=biotype)
    table = genes.table
    counts = {f"genes_{k}": v for k, v in genes.counts.items()}
    mapping = map_contigs(
        table.contig.unique(), genome.contig_names, alias_file=alias_file, region_aliases=genes.region_aliases
    )
    unmapped = sorted(set(table.contig) - set(mapping))
    counts["genes_unmapped_contig"] = int((~table.contig.isin(mapping)).sum())
    if unmapped:
        log.warning(
            "%s: %d genes on contigs not in the genome (%s); skipped. Give an alias file to map them.",
            gff,
            counts["genes_unmapped_contig"],
            ", ".join(unmapped[:5]) + (" ..." if len(unmapped) > 5 else ""),
        )
    table = table[table.contig.isin(mapping)].copy()
    table["contig_index"] = [genome.contig_index(mapping[c]) for c in table.contig]
    table = table.sort_values(["contig_index", "start", "end"], kind="stable").reset_index(drop=True)

    start = table.start.to_numpy(np.int64)
    end = table.end.to_numpy(np.int64)
    minus = table.strand.to_numpy() == "-"
    if layout == "deepcre":
        seg_start, seg_end, offset, length, short = _segments_deepcre(
            start, end, minus, upstream=upstream, downstream=downstream, spacer=spacer, short_genes=short_genes
        )
        masked = np.zeros(length, dtype=bool)
        masked[upstream : upstream + mask_width] = True
        masked[length - upstream - mask_width : length - upstream] = True
    else:
        seg_start, seg_end, offset, length, short = _segments_promoter(
            start, end, minus, upstream=upstream, downstream=downstream
        )
        masked = np.zeros(length, dtype=bool)

    contig_length = genome.contigs.contig_length.values[table.contig_index.to_numpy()]
    off_edge = (seg_start.min(axis=1) < 0) | (seg_end.max(axis=1) > contig_length)
    dropped_short = short & (short_genes == "drop")
    dropped_edge = off_edge & (contig_edges == "drop") & ~dropped_short
    keep = ~(dropped_short | dropped_edge)
    padded = (short & (short_genes == "pad")) | off_edge
    counts["genes_short"] = int(short.sum())
    counts["windows_dropped_short"] = int(dropped_short.sum())
    counts["windows_dropped_contig_edge"] = int(dropped_edge.sum())
    counts["windows_padded"] = int((padded & keep).sum())
    counts["windows"] = int(keep.sum())
    log.info("gene windows: %s", counts)

    table = table[keep]
    ds = xr.Dataset(
        {
            "window_contig": ("windows", table.contig_index.to_numpy(np.int32)),
            "window_start": ("windows", seg_start[keep].min(axis=1)),
            "window_end": ("windows", seg_end[keep].max(axis=1)),
            "window_strand": ("windows", np.where(minus[keep], "-", "+").astype("<U1")),
            "window_segment_start": (("windows", "segments"), seg_start[keep]),
            "window_segment_end": (("windows", "segments"), seg_end[keep]),
            "window_segment_offset": (("windows", "segments"), offset[keep]),
            "window_gene_id": ("windows", table.gene_id.to_numpy().astype(str)),
            "window_gene_start": ("windows", start[keep]),
            "window_gene_end": ("windows", end[keep]),
            "window_padded": ("windows", padded[keep]),
            "position_masked": ("positions", masked),
            "contig_id": ("contigs", genome.contigs.contig_id.values),
            "contig_length": ("contigs", genome.contigs.contig_length.values),
        },
        attrs={
            "layout": layout,
            "window_length": int(length),
            "upstream": upstream,
            "downstream": downstream,
            "spacer": spacer if layout == "deepcre" else 0,
            "short_genes": short_genes,
            "contig_edges": contig_edges,
            "gff_path": str(gff),
            "genome_path": str(genome.path),
            "coordinates": "0-based, half-open",
            **counts,
        },
    )
    per_window = [name for name in ds.data_vars if "windows" in ds[name].dims]
    ds = ds.assign({name: ds[name].chunk({"windows": chunk_size}) for name in per_window})
    validate(ds)
    return annotate(ds)


def gene_windows_for_layout(genome, gff: str | os.PathLike, layout: dict, **options) -> xr.Dataset:
    """Gene windows laid out as a model card's ``window_layout`` records them.

    Parameters
    ----------
    genome : Genome
    gff : path-like
    layout : dict
        ``{"layout": "deepcre" | "promoter", "upstream": ..., ...}`` (other keys ignored).
    **options
        Further keyword arguments of :func:`gene_windows`.
    """
    name = layout.get("layout", "deepcre")
    if name not in LAYOUTS:
        raise ValueError(f"windows of layout {name!r} are not gene windows; use tiles or regions")
    keys = {k: layout[k] for k in ("upstream", "downstream", "short_genes", "contig_edges") if k in layout}
    if name == "deepcre" and "spacer" in layout:
        keys["spacer"] = layout["spacer"]
    return gene_windows(genome, gff, layout=name, **keys, **options)
