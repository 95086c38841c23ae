"""BED region windows and GC-matched background windows."""

import numpy as np
import pytest

from scanner.tiling.genes import gene_windows
from scanner.tiling.regions import BedFormatError, gc_fraction, gene_anchors, matched_background, read_bed, region_windows
from scanner.tiling.sequences import window_sequences


def test_read_bed_and_centred_windows(tmp_path, demo_genome):
    contig = demo_genome.contig_names[0]
    bed = tmp_path / "peaks.bed"
    bed.write_text(f"track name=x\n{contig}\t1000\t1100\tpeak1\t0\t-\n{contig}\t50\t60\n{contig}\t5000\t5001\tp3\nchrZ\t1\t5\n")
    table = read_bed(bed)
    assert table.name.tolist() == ["peak1", f"{contig}:50-60", "p3", "chrZ:1-5"]
    assert table.line.tolist() == [2, 3, 4, 5]
    windows = region_windows(demo_genome, table, length=200)
    assert windows.attrs["regions_off_contig_edge"] == 1 and windows.attrs["regions_unknown_contig"] == 1
    assert windows.window_start.values.tolist() == [950, 4900]
    assert windows.window_strand.values.tolist() == ["-", "+"]
    codes = window_sequences(demo_genome, windows).values
    forward = window_sequences(demo_genome, windows.assign(window_strand=("windows", np.array(["+", "+"])))).values
    assert np.array_equal(codes[0] & 7, (3 - (forward[0] & 7))[::-1])


@pytest.mark.parametrize(
    "text,message",
    [("c\t5\n", "line 1: expected at least 3"), ("c\tx\t5\n", "line 1: start and end must be integers"),
     ("c\t9\t5\n", "line 1: need 0 <= start < end"), ("c\t1\t5\tn\t0\t*\n", "line 1: strand must be")],
)
def test_bad_bed_lines(tmp_path, text, message):
    bed = tmp_path / "bad.bed"
    bed.write_text(text)
    with pytest.raises(BedFormatError, match=message):
        read_bed(bed)


def test_background_keeps_geometry_avoids_anchors_and_matches_gc(demo_genome, demo_gff):
    genes = gene_windows(demo_genome, demo_gff).isel(windows=slice(0, 150))
    codes = window_sequences(demo_genome, genes).values
    background = matched_background(demo_genome, genes, codes, seed=3, avoid=gene_anchors(genes), bins=10)
    assert background.sizes["windows"] == 150 and background.attrs["background_shortfall"] == 0
    assert np.array_equal(background.position_masked.values, genes.position_masked.values)
    # each background window has the segment widths of some gene window
    widths = lambda ds: sorted(map(tuple, (ds.window_segment_end - ds.window_segment_start).values.tolist()))
    gene_widths = set(map(tuple, (genes.window_segment_end - genes.window_segment_start).values.tolist()))
    assert set(widths(background)) <= gene_widths
    # no background segment holds a gene's first or last base
    contig, first, _ = gene_anchors(genes)
    for s, e in zip(background.window_segment_start.values.ravel(), background.window_segment_end.values.ravel()):
        assert not np.any((first >= s) & (first < e))
    # the GC histogram of the background follows the genes'
    gene_gc, _ = gc_fraction(codes)
    background_gc, _ = gc_fraction(window_sequences(demo_genome, background).values)
    edges = np.linspace(0, 1, 11)
    # bins are drawn from the genes' histogram, so they agree up to sampling noise
    assert np.abs(np.histogram(gene_gc, edges)[0] - np.histogram(background_gc, edges)[0]).sum() <= 30
    assert abs(np.median(gene_gc) - np.median(background_gc)) < 0.02
    again = matched_background(demo_genome, genes, codes, seed=3, avoid=gene_anchors(genes), bins=10)
    assert np.array_equal(again.window_start.values, background.window_start.values)


def test_background_of_regions_overlaps_no_positive(demo_genome):
    import pandas as pd

    contig = demo_genome.contig_names[0]
    starts = np.arange(10_000, 1_900_000, 20_000)
    table = pd.DataFrame({"contig": contig, "start": starts, "end": starts + 300, "name": "p", "strand": ".", "line": 1})
    windows = region_windows(demo_genome, table, length=500)
    codes = window_sequences(demo_genome, windows).values
    background = matched_background(demo_genome, windows, codes, ratio=2.0, seed=0)
    assert background.sizes["windows"] == 2 * windows.sizes["windows"]
    lo, hi = windows.window_start.values, windows.window_end.values
    for s, e in zip(background.window_start.values, background.window_end.values):
        assert not np.any((lo < e) & (hi > s))


def test_overlapping_keeps_contigs_apart_and_reads_every_segment():
    import xarray as xr

    from scanner.tiling.regions import overlapping

    def windows(contig, segments):
        segments = np.array(segments, np.int64)  # (windows, segments, 2); empty segments are (0, 0)
        return xr.Dataset({"window_contig": ("windows", np.array(contig, np.int32)),
                           "window_segment_start": (("windows", "segments"), segments[..., 0]),
                           "window_segment_end": (("windows", "segments"), segments[..., 1])})

    positives = windows([0, 1], [[(950, 1150), (0, 0)], [(8950, 9050), (9100, 9150)]])
    # the same spans on the other contig; touching and one base into each positive window; a second
    # segment that reaches a positive; an empty segment where a positive lies
    others = windows([1, 0, 0, 0, 1, 1, 1, 0],
                     [[(950, 1150), (0, 0)], [(8950, 9150), (0, 0)], [(750, 950), (0, 0)], [(751, 951), (0, 0)],
                      [(9150, 9350), (0, 0)], [(9149, 9349), (0, 0)], [(8000, 8100), (9120, 9130)],
                      [(2000, 2100), (1000, 1000)]])
    assert overlapping(positives, others).tolist() == [False, False, False, True, False, True, True, False]
