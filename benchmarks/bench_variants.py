"""Variant scoring on a simulated A. thaliana panel: per-variant and haplotype modes.

    python benchmarks/bench_variants.py [--start 1000000 --length 300000 --accessions 100 1000]

A panel of inbred accessions is simulated with msprime on a stretch of the demo
genome (TAIR10 chr1, shipped in the repository): coalescent with recombination
(haploid Ne 400,000 with mu 7e-9 and rho 3.5e-9 per base and generation: nucleotide
diversity about 0.005, in the range reported for A.
thaliana), one haploid genome per accession written as a homozygous phased
diploid call (A. thaliana selfs). Every site gets the genome's base as REF and
another base as ALT; one site in ten becomes an indel (1-6 bases) instead.
The model is the demo DeepCRE network (3,020-base gene windows).

Measured in one run, on the same machine:

- per-variant scoring (``score_variants``, prediction only, in this process)
  against a naive loop that builds the REF and the ALT window of each effect
  and predicts the pair (timed on a sample of effects, extrapolated);
- haplotype predictions (``haplotype_predictions``) for each panel size: time,
  distinct windows predicted, and the ratio of the largest panel's time to the
  smallest's (the target: well under the ratio of their sizes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def simulate_panel(genome, contig: str, start: int, length: int, accessions: int, path: Path, seed: int) -> int:
    import msprime

    ts = msprime.sim_ancestry(samples=accessions, ploidy=1, sequence_length=length, recombination_rate=3.5e-9,
                              population_size=400_000, random_seed=seed)
    ts = msprime.sim_mutations(ts, rate=7e-9, random_seed=seed, discrete_genome=True)
    reference = genome.fetch(contig, start, start + length + 10) & 7
    rng = np.random.default_rng(seed)
    lines = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             f"##contig=<ID={contig},length={genome.contig_length(contig)}>",
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(f"acc{i}" for i in range(accessions))]
    last_end = -1
    for variant in ts.variants():
        p = int(variant.site.position)
        if p <= last_end or reference[p] > 3:
            continue
        ref = "ACGT"[reference[p]]
        kind = rng.random()
        if kind < 0.05:
            alt = ref + "".join(rng.choice(list("ACGT"), rng.integers(1, 7)))
        elif kind < 0.10:
            n = int(rng.integers(1, 7))
            ref = "".join("ACGT"[b] if b < 4 else "N" for b in reference[p : p + n + 1])
            alt = ref[0]
        else:
            alt = "ACGT"[(reference[p] + rng.integers(1, 4)) % 4]
        last_end = p + len(ref) - 1
        allele = np.minimum(variant.genotypes, 1)
        calls = "\t".join(f"{a}|{a}" for a in allele)
        lines.append(f"{contig}\t{start + p + 1}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t{calls}")
    path.write_text("\n".join(lines) + "\n")
    return len(lines) - 4


def naive_seconds(genome, windows, model_path, effects_sample) -> float:
    """Build REF and ALT window of each effect from scratch and predict the pair."""
    from scanner.models.model_file import load_model
    from scanner.tiling.sequences import window_sequences
    from scanner.variants.variant_windows import allele_windows, window_anchors

    loaded = load_model(model_path)
    alleles, effects, rows = effects_sample
    anchors = window_anchors(windows)
    began = time.perf_counter()
    for e in rows:
        ref = window_sequences(genome, windows.isel(windows=[int(effects.window[e])])).values
        alt = allele_windows(genome, windows, anchors, alleles, effects, np.array([e])).alt
        loaded.predict_codes(np.concatenate([ref, alt]), batch_size=2)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", type=int, default=1_000_000)
    parser.add_argument("--length", type=int, default=300_000)
    parser.add_argument("--accessions", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--naive-sample", type=int, default=100)
    args = parser.parse_args()

    import torch

    from pipelines.demo import DEMO_FASTA, DEMO_GFF
    from scanner import ingest_fasta, open_genome
    from scanner.tiling.genes import gene_windows_for_layout
    from scanner.models.model_file import read_card
    from scanner.variants import haplotype_predictions, read_variants, score_variants
    from scanner.variants.alleles import allele_table
    from scanner.variants.variant_windows import gene_effects

    model = Path(__file__).resolve().parents[1] / "pipelines" / "demo_data" / "ath_chr1_genes.model"
    print(f"torch threads {torch.get_num_threads()}; region chr1:{args.start + 1:,}-{args.start + args.length:,}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        genome = open_genome(ingest_fasta(DEMO_FASTA, tmp / "genome.zarr"))
        contig = genome.contig_names[0]
        gff = tmp / "region.gff3"
        import gzip

        with gzip.open(DEMO_GFF, "rt") as handle:
            gff.write_text("".join(line for line in handle if line.startswith("#") or
                                   args.start + 3_000 <= int(line.split("\t")[3]) <= args.start + args.length - 3_000))
        windows = gene_windows_for_layout(genome, gff, read_card(model).window_layout).compute()
        print(f"{windows.sizes['windows']} gene windows")
        panels = {}
        for n in args.accessions:
            path = tmp / f"panel{n}.vcf"
            sites = simulate_panel(genome, contig, args.start, args.length, n, path, seed=1)
            panels[n] = path
            print(f"panel of {n} accessions: {sites:,} variant sites")

        # per-variant scoring on the smallest panel
        smallest = panels[min(panels)]
        variants = read_variants(smallest, genotypes=False)
        began = time.perf_counter()
        ds = score_variants(variants, genome, model, tmp / "effects.zarr", gff=gff, batch_size=64, block_size=256)
        seconds = time.perf_counter() - began
        n_effects = ds.sizes["effects"]
        alleles = allele_table(variants, genome)
        effects = gene_effects(windows, alleles)
        rng = np.random.default_rng(0)
        sample = np.sort(rng.choice(effects.allele.size, min(args.naive_sample, effects.allele.size), replace=False))
        naive = naive_seconds(genome, windows, model, (alleles, effects, sample)) * effects.allele.size / sample.size
        print(f"\nper-variant: {variants.sizes['variants']:,} variants, {n_effects:,} allele-window effects")
        print(f"  cre-scanner score_variants: {seconds:.1f} s  ({variants.sizes['variants'] / seconds:,.0f} variants/s, "
              f"{n_effects / seconds:,.0f} effects/s)")
        print(f"  naive loop (REF+ALT built and predicted per effect; {sample.size} timed, extrapolated): {naive:.1f} s "
              f"({variants.sizes['variants'] / naive:,.0f} variants/s)")
        print(f"  ratio naive / cre-scanner: {naive / seconds:.1f}x")

        print("\nhaplotypes (every accession x gene, distinct windows predicted once):")
        timings = {}
        for n, path in panels.items():
            panel = read_variants(path)
            began = time.perf_counter()
            out = haplotype_predictions(panel, genome, model, gff, tmp / f"haplotypes{n}.zarr", batch_size=64, block_size=256)
            timings[n] = time.perf_counter() - began
            distinct = int(out.attrs["distinct_windows"])
            per_gene = out.gene_distinct_haplotypes.values
            print(f"  {n:>5} accessions: {timings[n]:6.1f} s; {distinct:,} distinct windows for "
                  f"{n * windows.sizes['windows']:,} accession-genes (median {np.median(per_gene):.0f}, max {per_gene.max()} per gene)")
        lo, hi = min(timings), max(timings)
        if hi != lo:
            print(f"  time ratio {hi} / {lo} accessions: {timings[hi] / timings[lo]:.2f}x for {hi / lo:.0f}x the accessions")


if __name__ == "__main__":
    main()
