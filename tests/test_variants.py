"""Variant effects: alleles checked against the genome, REF/ALT and haplotype windows
equal to what `bcftools consensus` builds, scores equal to predicting those windows."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from scanner.genome.alphabet import decode
from scanner.genome.encoding import reverse_complement
from scanner.models.card import ModelCard
from scanner.models.model_file import load_model, save_model
from scanner.tiling.genes import gene_windows
from scanner.tiling.sequences import window_sequences
from scanner.variants.alleles import VariantCheckError, allele_table
from scanner.variants.edited_windows import apply_edits, map_positions, non_overlapping
from scanner.variants.haplotypes import HaplotypeError, gene_haplotypes
from scanner.variants.variant_windows import allele_windows, gene_effects, window_anchors
from scanner.variants.vcf import VariantFormatError, read_variants

needs_bcftools = pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools (Debian package) not installed")
HEADER = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">']


# --- edits and coordinates against a naive reference ---------------------------------

@st.composite
def edit_sets(draw):
    n = draw(st.integers(20, 80))
    seq = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.uint8)
    starts, lengths, alts, cursor = [], [], [], 0
    for _ in range(draw(st.integers(0, 6))):
        start = cursor + draw(st.integers(0, 8))
        length = draw(st.integers(1, 5))
        if start + length > n:
            break
        starts.append(start)
        lengths.append(length)
        alts.append(np.array(draw(st.lists(st.integers(0, 3), min_size=1, max_size=6)), dtype=np.uint8))
        cursor = start + length
    return seq, np.array(starts, np.int64), np.array(lengths, np.int64), alts


@given(edit_sets())
def test_edits_and_position_map_match_a_naive_rebuild(case):
    seq, start, ref_length, alts = case
    edited, marker = apply_edits(seq, 0, start, ref_length, alts)
    # naive: walk the sequence, remembering where each kept genome base lands
    naive, origin, brought = [], {}, []
    i = 0
    edits = {int(s): (int(r), a) for s, r, a in zip(start, ref_length, alts)}
    while i < seq.size:
        if i in edits:
            r, a = edits[i]
            for k in range(r):  # bases of an equal-length stretch keep their place
                if k < len(a):
                    origin[i + k] = len(naive) + k
            naive += list(a)
            brought += [True] * len(a)
            i += r
        else:
            origin[i] = len(naive)
            naive.append(seq[i])
            brought.append(False)
            i += 1
    assert edited.tolist() == naive
    assert ((marker == 12) == np.array(brought, bool)).all()
    alt_length = np.array([len(a) for a in alts], np.int64)
    mapped = map_positions(np.arange(seq.size), start, ref_length, alt_length)
    for p, q in origin.items():
        assert mapped[p] == q


def test_overlapping_edits_keep_the_first():
    keep = non_overlapping(np.array([10, 12, 14, 20]), np.array([3, 1, 2, 1]))
    assert keep.tolist() == [True, False, True, True]


# --- a panel on the demo genome -------------------------------------------------------

def _write_vcf(path: Path, contig: str, records, samples=("s1", "s2")) -> Path:
    lines = HEADER + [f"##contig=<ID={contig},length=2000000>",
                      "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples)]
    for pos, ref, alt, gts in sorted(records, key=lambda r: r[0]):
        lines.append(f"{contig}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t" + "\t".join(gts))
    path.write_text("\n".join(lines) + "\n")
    return path


def _bgzip_index(path: Path) -> Path:
    out = path.with_name(path.name + ".gz")
    subprocess.run(["bcftools", "view", "-Oz", "-o", str(out), str(path)], check=True)
    subprocess.run(["bcftools", "index", "-f", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def small_gff(tmp_path_factory, demo_gff):
    """The demo annotation's first 400 kb (fewer windows, same layout rules)."""
    out = tmp_path_factory.mktemp("gff") / "genes.gff3"
    keep = []
    with gzip.open(demo_gff, "rt") as handle:
        for line in handle:
            if line.startswith("#") or int(line.split("\t")[3]) < 400_000:
                keep.append(line)
    out.write_text("".join(keep))
    return out


@pytest.fixture(scope="module")
def windows(demo_genome, small_gff):
    return gene_windows(demo_genome, small_gff).compute()


@pytest.fixture(scope="module")
def panel(tmp_path_factory, demo_genome, windows):
    """Variants of every kind in the segments of genes on both strands.

    "spaced" alleles lie >= 30 kb apart, so each is alone in any window holding it;
    s1 carries them on haplotype 1. "cluster" alleles add two more per gene; s2
    carries spaced ones on both haplotypes and cluster ones on haplotype 2.
    """
    contig = demo_genome.contig_names[0]
    seq = demo_genome.fetch(contig, 0, 400_000) & 7
    text = lambda a, b: "".join("ACGT"[x] for x in seq[a:b])  # noqa: E731
    kinds = ["snv", "mnv", "insertion", "deletion"]
    starts = windows.window_gene_start.values
    ends = windows.window_gene_end.values
    strands = windows.window_strand.values
    chosen, last = [], -10**9
    for w in range(windows.sizes["windows"]):
        if starts[w] - last > 30_000 and ends[w] - starts[w] < 8_000 and ends[w] + 1_500 < 400_000:
            chosen.append(w)
            last = ends[w]
    records, spaced = [], []

    def variant(position0, kind, gts, k):
        ref = text(position0, position0 + 1)
        if kind == "snv":
            alt = "ACGT"[(seq[position0] + 1 + k % 3) % 4]
        elif kind == "mnv":
            ref = text(position0, position0 + 3)
            alt = "".join("ACGT"[(b + 1) % 4] for b in seq[position0 : position0 + 3])
        elif kind == "insertion":
            alt = ref + "ACGTTGCA"[: 3 + k % 5]
        else:
            ref = text(position0, position0 + 2 + k % 9)
            alt = ref[0]
        records.append((position0 + 1, ref, alt, gts))

    for k, w in enumerate(chosen):
        kind = kinds[k % 4]
        plus = strands[w] == "+"
        # upstream of the 5' end (moves what the anchor keeps), inside the gene, or past the 3' end
        where = [starts[w] - 300 if plus else ends[w] + 300, starts[w] + 100, ends[w] + 200 if plus else starts[w] - 200][k % 3]
        spaced.append(where)
        variant(where, kind, ("1|0", "1|1"), k)
        variant(starts[w] - 700, kinds[(k + 1) % 4], ("0|0", "0|1"), k + 1)
        variant(ends[w] + 600, kinds[(k + 2) % 4], ("0|0", "0|1"), k + 2)
    path = _write_vcf(tmp_path_factory.mktemp("vcf") / "panel.vcf", contig, records)
    return {"path": path, "spaced": np.array(spaced) + 1, "chosen": chosen, "contig": contig}


@pytest.fixture(scope="module")
def genome_fasta(tmp_path_factory, demo_genome):
    contig = demo_genome.contig_names[0]
    path = tmp_path_factory.mktemp("fa") / "genome.fa"
    path.write_text(f">{contig}\n{decode(demo_genome.fetch(contig, 0, 2_000_000), soft_mask=False)}\n")
    return path


def _chain_map(chain: Path):
    """Reference -> consensus position through a bcftools chain file (None: deleted)."""
    blocks = []
    for line in chain.read_text().splitlines()[1:]:
        parts = [int(x) for x in line.split()]
        if parts:
            blocks.append((parts + [0, 0])[:3])

    def mapped(p):
        t = q = 0
        for size, dt, dq in blocks:
            if p < t + size:
                return q + (p - t)
            t += size
            q += size
            if p < t + dt:
                return None
            t += dt
            q += dq
        return None

    return mapped


def _consensus(tmp_path, fasta, vcf, sample, haplotype):
    vcf_gz = vcf if str(vcf).endswith(".gz") else _bgzip_index(vcf)
    out, chain = tmp_path / f"{sample}_{haplotype}.fa", tmp_path / f"{sample}_{haplotype}.chain"
    subprocess.run(["bcftools", "consensus", "-f", str(fasta), "-s", sample, "-H", str(haplotype), "-c", str(chain),
                    "-o", str(out), str(vcf_gz)], check=True, capture_output=True)
    sequence = "".join(out.read_text().split("\n")[1:])
    from scanner.genome.alphabet import encode

    return encode(sequence) & 7, _chain_map(chain)


def _cut(consensus, mapped, windows, w):
    """Window ``w`` cut from a consensus sequence by the layout's anchors."""
    length = int(windows.attrs["window_length"])
    out = np.full(length, 4, np.uint8)
    anchors = window_anchors(windows)[w]
    for s in range(windows.sizes["segments"]):
        a = int(anchors[s])
        lo = mapped(a) - (a - int(windows.window_segment_start.values[w, s]))
        n = int(windows.window_segment_end.values[w, s] - windows.window_segment_start.values[w, s])
        piece = consensus[lo : lo + n]
        if windows.window_strand.values[w] == "-":
            piece = reverse_complement(piece)
        offset = int(windows.window_segment_offset.values[w, s])
        out[offset : offset + n] = piece
    out[windows.position_masked.values] = 4
    return out


@needs_bcftools
def test_alt_windows_equal_bcftools_consensus(tmp_path, demo_genome, windows, panel, genome_fasta):
    variants = read_variants(panel["path"])
    alleles = allele_table(variants, demo_genome)
    assert alleles.counts["ok"] == variants.sizes["variants"]
    effects = gene_effects(windows, alleles)
    spaced = np.isin(variants.variant_position.values[alleles.variant[effects.allele]], panel["spaced"])
    rows = np.flatnonzero(spaced)
    built = allele_windows(demo_genome, windows, window_anchors(windows), alleles, effects, rows)
    reference = window_sequences(demo_genome, windows).values
    assert np.array_equal(built.ref, reference[effects.window[rows]])  # the REF edit changes nothing
    consensus, mapped = _consensus(tmp_path, genome_fasta, panel["path"], "s1", 1)
    kinds = set()
    for i, e in enumerate(rows):
        w = int(effects.window[e])
        expected = _cut(consensus, mapped, windows, w)
        assert np.array_equal(built.alt[i] & 7, expected), f"effect {e} window {w}"
        a = alleles.alt_codes[alleles.variant[effects.allele[e]]]
        kinds.add((windows.window_strand.values[w], int(np.sign(len(a) - alleles.ref_length[effects.allele[e]]))))
        assert built.alt_slots[i, 0] >= 0 and built.ref_slots[i, 0] >= 0
    assert kinds >= {("+", 0), ("+", 1), ("+", -1), ("-", 0), ("-", 1), ("-", -1)}


@needs_bcftools
def test_haplotype_windows_equal_bcftools_consensus(tmp_path, demo_genome, windows, panel, genome_fasta):
    variants = read_variants(panel["path"])
    alleles = allele_table(variants, demo_genome)
    genes = {g.window: g for g in gene_haplotypes(demo_genome, windows, variants, alleles)}
    reference = window_sequences(demo_genome, windows).values
    for sample, s in (("s1", 0), ("s2", 1)):
        for haplotype in (1, 2):
            consensus, mapped = _consensus(tmp_path, genome_fasta, panel["path"], sample, haplotype)
            for w in panel["chosen"]:
                gene = genes[w]
                window = gene.codes[gene.index[s, haplotype - 1]]
                assert np.array_equal(window & 7, _cut(consensus, mapped, windows, w)), (sample, haplotype, w)
    for w, gene in genes.items():
        assert np.array_equal(gene.codes[0], reference[w])
    # s1 hap2 and every gene without variants are the reference; s2 hap2 differs from hap1
    chosen = panel["chosen"][0]
    assert genes[chosen].index[0, 1] == 0 and genes[chosen].index[1, 0] != genes[chosen].index[1, 1]
    assert all(g.codes.shape[0] <= 4 for g in genes.values())


def test_unphased_heterozygous_calls_are_refused(tmp_path, demo_genome, windows, panel):
    text = panel["path"].read_text().replace("0|1", "0/1")
    path = tmp_path / "unphased.vcf"
    path.write_text(text)
    variants = read_variants(path)
    with pytest.raises(HaplotypeError, match=r"heterozygous unphased .* first sample s2 at"):
        list(gene_haplotypes(demo_genome, windows, variants, allele_table(variants, demo_genome)))


def test_allele_checks_are_counted_and_strict_mode_names_the_record(tmp_path, demo_genome):
    contig = demo_genome.contig_names[0]
    seq = demo_genome.fetch(contig, 0, 1000) & 7
    base = lambda p: "ACGT"[seq[p - 1]]  # noqa: E731
    wrong = "ACGT"[(seq[199] + 1) % 4]
    records = [
        (100, base(100), "<DEL>", ("0|1", "0|0")),
        (150, base(150), "*", ("0|1", "0|0")),
        (200, wrong, base(200), ("0|1", "0|0")),  # REF disagrees with the genome
        (300, base(300), f"{'ACGT'[(seq[299] + 1) % 4]},{'ACGT'[(seq[299] + 2) % 4]}", ("1|2", "0|0")),
        (400, base(400), base(400), ("0|1", "0|0")),
    ]
    path = _write_vcf(tmp_path / "checks.vcf", contig, records)
    lines = path.read_text().splitlines()
    lines.insert(3, "##contig=<ID=chrX,length=1000>")
    lines.append("chrX\t10\t.\tA\tC\t.\tPASS\t.\tGT\t0|1\t0|0")
    path.write_text("\n".join(lines) + "\n")
    variants = read_variants(path)
    table = allele_table(variants, demo_genome)
    assert table.counts["symbolic"] == 2
    assert table.counts["ref_mismatch"] == 1
    assert table.counts["ok"] == 2 and table.counts["multiallelic_sites"] == 1
    assert table.counts["same_as_ref"] == 1
    assert table.counts["missing_contig"] == 1 and table.counts["missing_contigs"] == ["chrX"]
    assert table.alt[table.ok].tolist() == [1, 2]
    with pytest.raises(VariantCheckError, match=rf"variant 3 at {contig}:200 has REF '{wrong}' but genome .* has '{base(200)}'"):
        allele_table(variants, demo_genome, strict=True)


def test_unknown_samples_and_regions_without_index_are_clear_errors(tmp_path, panel):
    with pytest.raises(VariantFormatError, match="samples not in the file: nobody"):
        read_variants(panel["path"], samples=["nobody"])
    with pytest.raises(VariantFormatError, match="needs an index"):
        read_variants(panel["path"], region=f"{panel['contig']}:1-100000")


@needs_bcftools
def test_region_and_sample_subsets_keep_the_source_index(tmp_path, panel):
    full = read_variants(panel["path"])
    vcf_gz = _bgzip_index(panel["path"])
    part = read_variants(vcf_gz, region=f"{panel['contig']}:100000-300000", samples=["s2"])
    inside = (full.variant_position.values >= 100000) & (full.variant_position.values <= 300000)
    assert part.sizes["variants"] == inside.sum() > 0
    assert part.variant_index.values.tolist() == np.flatnonzero(inside).tolist()
    assert np.array_equal(part.call_genotype.values[:, 0], full.call_genotype.values[inside][:, 1])
    assert part.sample_id.values.tolist() == ["s2"]


# --- scores -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gene_model(tmp_path_factory):
    """A small random network on DeepCRE-layout windows (fast, and sensitive to every base)."""
    from scanner.models.architectures import build_model

    torch.manual_seed(0)
    model = build_model("regioncnn", input_length=3020, channels=8, layers=2)
    card = ModelCard(architecture="regioncnn", hyperparameters={"input_length": 3020, "targets": 1, "channels": 8, "layers": 2},
                     input_length=3020, targets=["expressed"],
                     window_layout={"layout": "deepcre", "upstream": 1000, "downstream": 500, "spacer": 20})
    return save_model(model, card, tmp_path_factory.mktemp("model") / "genes.model")


def _predict(model_path, codes):
    loaded = load_model(model_path)
    return 1 / (1 + np.exp(-loaded.predict_codes(codes).astype(np.float64)))


@needs_bcftools
def test_scores_equal_predicting_the_consensus_windows(tmp_path, demo_genome, small_gff, windows, panel, genome_fasta, gene_model):
    from scanner.variants import score_variants

    variants = read_variants(panel["path"], genotypes=False)
    ds = score_variants(variants, demo_genome, gene_model, tmp_path / "effects.zarr", gff=small_gff,
                        attribution="gradient", block_size=16, batch_size=16).load()
    assert ds.sizes["effects"] > 0 and not (tmp_path / ".effects.zarr.work").exists()
    reference = window_sequences(demo_genome, windows).values
    expected_ref = _predict(gene_model, reference[ds.effect_window.values])
    np.testing.assert_allclose(ds.effect_ref_prediction.values, expected_ref, rtol=1e-5)
    consensus, mapped = _consensus(tmp_path, genome_fasta, panel["path"], "s1", 1)
    spaced = np.flatnonzero(np.isin(ds.variant_position.values[ds.effect_variant.values], panel["spaced"]))
    cut = np.stack([_cut(consensus, mapped, windows, int(ds.effect_window.values[e])) for e in spaced])
    np.testing.assert_allclose(ds.effect_alt_prediction.values[spaced], _predict(gene_model, cut), rtol=1e-5)
    np.testing.assert_allclose(ds.effect_difference.values, ds.effect_alt_prediction.values - ds.effect_ref_prediction.values)
    assert np.isfinite(ds.effect_contribution_change.values).all()
    # the REF contribution of an SNV is gradient x input at its slot, computed here directly
    from scanner.attribution.gradients import gradient_x_input

    lengths = np.char.str_len(ds.variant_allele.values[ds.effect_variant.values])
    snv = np.flatnonzero((lengths[:, 0] == 1) & (lengths[:, 1] == 1))[:10]
    assert snv.size
    direct = gradient_x_input(load_model(gene_model).module, reference[ds.effect_window.values[snv]]).actual.sum(axis=2)
    np.testing.assert_allclose(ds.effect_ref_contribution.values[snv], direct[np.arange(snv.size), ds.effect_ref_slot.values[snv]],
                               rtol=1e-4, atol=1e-7)
    # per variant: the window of largest |difference|, and every allele accounted for
    v, a = ds.effect_variant.values, ds.effect_allele.values - 1
    for variant in np.unique(v):
        rows = np.flatnonzero(v == variant)
        best = rows[np.argmax(np.abs(ds.effect_difference.values[rows, 0]))]
        assert ds.variant_difference.values[variant, a[best], 0] == ds.effect_difference.values[best, 0]
        assert ds.variant_windows_scored.values[variant, a[best]] == rows.size
    status = ds.variant_allele_status.values[:, 0]
    assert set(status) <= {"ok", "outside_windows"}
    assert np.isnan(ds.variant_difference.values[status == "outside_windows"]).all()
    assert ds.attrs["count_outside_windows"] == int((status == "outside_windows").sum())


@needs_bcftools
def test_haplotype_predictions_equal_predicting_the_consensus(tmp_path, demo_genome, small_gff, windows, panel, genome_fasta, gene_model):
    from scanner.variants import haplotype_predictions

    variants = read_variants(panel["path"])
    ds = haplotype_predictions(variants, demo_genome, gene_model, small_gff, tmp_path / "panel.zarr",
                               block_size=16, batch_size=16).load()
    assert ds.haplotype_prediction.shape == (2, 2, windows.sizes["windows"], 1)
    consensus, mapped = _consensus(tmp_path, genome_fasta, panel["path"], "s2", 2)
    chosen = panel["chosen"]
    cut = np.stack([_cut(consensus, mapped, windows, w) for w in chosen])
    np.testing.assert_allclose(ds.haplotype_prediction.values[1, 1, chosen, 0], _predict(gene_model, cut)[:, 0], rtol=1e-5)
    reference = _predict(gene_model, window_sequences(demo_genome, windows).values)[:, 0]
    np.testing.assert_allclose(ds.gene_reference_prediction.values[:, 0], reference, rtol=1e-5)
    assert (ds.gene_distinct_haplotypes.values[chosen] >= 2).all()
    assert ds.attrs["distinct_windows"] < 4 * windows.sizes["windows"]


def test_tile_mode_centres_the_allele(tmp_path, demo_genome):
    from scanner.models.architectures import build_model
    from scanner.variants import score_variants

    torch.manual_seed(1)
    model = build_model("regioncnn", input_length=501, channels=4, layers=1)
    card = ModelCard(architecture="regioncnn", hyperparameters={"input_length": 501, "targets": 1, "channels": 4, "layers": 1},
                     input_length=501, targets=["open"], window_layout={"layout": "regions", "window_length": 501})
    path = save_model(model, card, tmp_path / "regions.model")
    contig = demo_genome.contig_names[0]
    seq = demo_genome.fetch(contig, 0, 20_000) & 7
    ref = "".join("ACGT"[b] for b in seq[9_999:10_004])
    vcf = _write_vcf(tmp_path / "one.vcf", contig, [(10_000, ref, ref[0], ("0|1", "0|0")),
                                                    (15_000, "ACGT"[seq[14_999]], "ACGT"[(seq[14_999] + 1) % 4], ("0|1", "0|0"))])
    ds = score_variants(read_variants(vcf, genotypes=False), demo_genome, path, tmp_path / "tiles.zarr", tiles=True).load()
    assert ds.sizes["effects"] == 2 and (ds.effect_ref_slot.values == 250).all()
    window = np.concatenate([seq[9_999 - 250 : 9_999], seq[9_999:10_000], seq[10_004 : 10_004 + 250]])
    np.testing.assert_allclose(ds.effect_alt_prediction.values[0], _predict(path, window[None])[0], rtol=1e-5)


def test_motif_gains_and_losses_match_a_full_scan(tmp_path, demo_genome, panel):
    from scanner.motifs.readers import read as read_motifs
    from scanner.motifs.scanning import scan_sequences
    from scanner.variants.motif_changes import motif_changes

    motifs = read_motifs("jaspar2024:plants")[:60]
    variants = read_variants(panel["path"], genotypes=False)
    alleles = allele_table(variants, demo_genome)
    changes = motif_changes(demo_genome, alleles, motifs, pvalue=1e-3)
    flank = max(m.width for m in motifs) - 1
    contig = demo_genome.contig_names[0]
    seq = decode(demo_genome.fetch(contig, 0, 400_000), soft_mask=False)
    found = 0
    for r in np.flatnonzero(alleles.ok)[:12]:
        start, n_ref = int(alleles.start[r]), int(alleles.ref_length[r])
        alt = decode(alleles.alt_codes[r])
        left, right = seq[start - flank : start], seq[start + n_ref : start + n_ref + flank]
        best = []
        for allele_text, n in ((seq[start : start + n_ref], n_ref), (alt, max(len(alt), 1))):
            hits = scan_sequences([left + allele_text + right], motifs, pvalue=1.0).load()
            ends = hits.hit_end.values
            overlap = (ends > flank) & (hits.hit_start.values < flank + n)
            p = np.ones(len(motifs))
            np.minimum.at(p, hits.hit_motif.values[overlap], hits.hit_pvalue.values[overlap])
            best.append(p)
        crossed = np.flatnonzero((best[0] <= 1e-3) != (best[1] <= 1e-3))
        mine = changes.motif_change_motif.values[(changes.motif_change_variant.values == alleles.variant[r])
                                                 & (changes.motif_change_allele.values == alleles.alt[r])]
        assert sorted(mine.tolist()) == crossed.tolist()
        rows = np.flatnonzero(changes.motif_change_variant.values == alleles.variant[r])
        for row in rows:
            k = changes.motif_change_motif.values[row]
            assert changes.motif_change_ref_pvalue.values[row] == pytest.approx(best[0][k], rel=1e-9)
            assert changes.motif_change_alt_pvalue.values[row] == pytest.approx(best[1][k], rel=1e-9)
        found += crossed.size
    assert found > 0


def test_merges_with_bio2zarr_vcf_zarr(tmp_path, demo_genome, small_gff, panel, gene_model):
    bio2zarr = pytest.importorskip("bio2zarr.vcf")
    from scanner.variants import score_variants

    vcf_gz = _bgzip_index(panel["path"]) if shutil.which("bcftools") else pytest.skip("bcftools needed to bgzip")
    store = tmp_path / "panel.vcz"
    bio2zarr.convert([str(vcf_gz)], str(store), worker_processes=0, show_progress=False)
    from_zarr = read_variants(store)
    from_vcf = read_variants(vcf_gz)
    for name in ("variant_position", "variant_allele", "call_genotype", "call_genotype_phased", "sample_id"):
        assert np.array_equal(from_zarr[name].values, from_vcf[name].values), name
    effects = score_variants(from_zarr, demo_genome, gene_model, tmp_path / "e.zarr", gff=small_gff, block_size=16, batch_size=16)
    source = xr.open_zarr(store, consolidated=False)
    merged = xr.merge([source, effects[["variant_difference", "variant_allele_status"]]], join="exact")
    assert merged.sizes["variants"] == source.sizes["variants"]
    assert np.array_equal(effects.variant_position.values, source.variant_position.values)


@needs_bcftools
def test_cli_score_and_export(tmp_path, demo_store, small_gff, panel, gene_model):
    from click.testing import CliRunner

    from pipelines.cli import main

    vcf_gz = _bgzip_index(panel["path"])
    runner = CliRunner()
    out = tmp_path / "effects.zarr"
    result = runner.invoke(main, ["variants", "score", str(vcf_gz), "--genome", str(demo_store), "--model", str(gene_model),
                                  "--genes", str(small_gff), "-o", str(out), "--local", "--tsv", str(tmp_path / "e.tsv"),
                                  "--block-size", "16", "--batch-size", "16", "--calls"])
    assert result.exit_code == 0, result.output
    assert "36 variants, 36 scorable ALT alleles" in result.output
    result = runner.invoke(main, ["variants", "export", str(out), "--vcf", str(tmp_path / "scored.vcf.gz")])
    assert result.exit_code == 0, result.output
    query = subprocess.run(["bcftools", "query", "-f", "%POS\t%CS_STATUS\t%CS_DIFF_expressed\n", str(tmp_path / "scored.vcf.gz")],
                           check=True, capture_output=True, text=True).stdout.splitlines()
    ds = xr.open_zarr(out, consolidated=False)
    assert len(query) == ds.sizes["variants"]
    for line, diff, status in zip(query, ds.variant_difference.values[:, 0, 0], ds.variant_allele_status.values[:, 0]):
        _, got_status, got = line.split("\t")
        assert got_status == status
        assert (got == ".") if np.isnan(diff) else float(got) == pytest.approx(diff, rel=1e-5, abs=1e-9)
    # per-sample: s1 carries the spaced alleles on one haplotype, s2 on both and the others on one
    genotype = read_variants(vcf_gz).call_genotype.values
    difference = np.nan_to_num(ds.variant_difference.values[:, 0, 0])
    expected = (genotype == 1).sum(axis=2) * difference[:, None]
    np.testing.assert_allclose(ds.call_difference.values[:, :, 0], expected, rtol=1e-6, atol=1e-9)
    assert (np.abs(ds.call_difference.values[:, 1, 0]) >= np.abs(ds.call_difference.values[:, 0, 0])).all()
    table = (tmp_path / "e.tsv").read_text().splitlines()
    assert len(table) == 1 + ds.sizes["variants"] and table[0].startswith("contig\tposition\tid\tref\talt\tstatus")
    result = runner.invoke(main, ["variants", "score", str(vcf_gz), "--genome", str(demo_store), "--model", str(gene_model),
                                  "--tiles", "-o", str(tmp_path / "t.zarr"), "--local"])
    assert result.exit_code == 1 and "trained on 'deepcre' windows" in result.output


def test_cli_haplotypes(tmp_path, demo_store, small_gff, panel, gene_model):
    from click.testing import CliRunner

    from pipelines.cli import main

    out = tmp_path / "panel.zarr"
    result = CliRunner().invoke(main, ["variants", "haplotypes", str(panel["path"]), "--genome", str(demo_store),
                                       "--model", str(gene_model), "--genes", str(small_gff), "-o", str(out), "--local",
                                       "--samples", "s2", "--block-size", "16", "--batch-size", "16"])
    assert result.exit_code == 0, result.output
    assert "1 sample x 2 haplotypes" in result.output and "distinct windows predicted" in result.output
    ds = xr.open_zarr(out, consolidated=False)
    assert ds.sample_id.values.tolist() == ["s2"] and ds.haplotype_prediction.shape[:2] == (1, 2)
    assert not (tmp_path / ".panel.zarr.work").exists()
    result = CliRunner().invoke(main, ["variants", "haplotypes", str(panel["path"]), "--genome", str(demo_store),
                                       "--model", str(gene_model), "--genes", str(small_gff), "-o", str(out), "--local",
                                       "--region", "chr9:1-10"])
    assert result.exit_code == 1 and "needs an index" in result.output
