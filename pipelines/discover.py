"""Motif discovery as a job step: patterns of a run, their files, logos and database matches.

Shared by ``scanner discover`` and ``scanner annotate --discover``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Discovery:
    """What a discovery step wrote and found."""

    patterns: object  # scanner.cres.discovery.Patterns
    members: object  # xarray.Dataset of pattern seqlets
    best_matches: list[dict]  # best database match per pattern (TOMTOM columns), best first
    names: dict[str, str]  # database motif id -> name


def run_discovery(run: Path, output: Path, *, databases, fdr: float, max_seqlets: int, leiden_runs: int) -> Discovery:
    """Discover patterns in ``run`` and write ``output``/: patterns.h5 (modisco-lite's layout),
    patterns.meme, pattern_seqlets.tsv, jaspar_matches.tsv and logos/."""
    from scanner.cres.discovery import discover as discover_patterns, pattern_seqlets, save_patterns
    from scanner.cres.logos import motif_logo
    from scanner.motifs.compare import compare_motifs, write_tomtom_tsv
    from scanner.motifs.readers import read
    from scanner.motifs.writers import write_meme

    patterns = discover_patterns(run, fdr=fdr, max_seqlets=max_seqlets, leiden_runs=leiden_runs)
    output.mkdir(parents=True, exist_ok=True)
    save_patterns(patterns, output / "patterns.h5")
    write_meme(patterns.motifs, output / "patterns.meme")
    members = pattern_seqlets(patterns, run)
    table = members.drop_dims("contigs").to_dataframe().reset_index(drop=True)
    contig = members.contig_id.values
    table.insert(0, "contig", [contig[c] if c >= 0 else "" for c in table.pattern_seqlet_contig])
    table.drop(columns=["pattern_seqlet_contig"]).rename(columns=lambda c: c.removeprefix("pattern_seqlet_")).to_csv(
        output / "pattern_seqlets.tsv", sep="\t", index=False)
    targets = [m for db in databases for m in read(db)]
    matches = compare_motifs(patterns.motifs, targets, threshold=1.0) if patterns.motifs else None
    best = []
    if matches is not None:
        write_tomtom_tsv(matches, output / "jaspar_matches.tsv")
        if len(matches):
            ranked = matches.sort_values(["q-value", "p-value", "Target_ID"], kind="mergesort")
            best = ranked.groupby("Query_ID", sort=False).head(1).to_dict("records")
    names = {m.motif_id: m.name for m in targets}
    by_id = {m.motif_id: m for m in targets}
    best_by_query = {r["Query_ID"]: r for r in best}
    logos = output / "logos"
    logos.mkdir(exist_ok=True)
    for motif in patterns.motifs:
        motif_logo(motif.probabilities, logos / f"{motif.motif_id}.png", title=f"{motif.motif_id} ({motif.n_sites:g} seqlets)")
        match = best_by_query.get(motif.motif_id)
        if match is not None and match["Target_ID"] in by_id:
            target = by_id[match["Target_ID"]]
            probabilities = target.probabilities if match["Orientation"] == "+" else target.probabilities[::-1, ::-1]
            motif_logo(probabilities, logos / f"{motif.motif_id}.match.png",
                       title=f"{target.motif_id} {target.name} (q = {match['q-value']:.2g})")
    return Discovery(patterns, members, best, names)


def pattern_match_labels(discovery: Discovery) -> dict[str, str]:
    """Pattern name -> ``"<id> <name>"`` of its best database match."""
    return {r["Query_ID"]: f"{r['Target_ID']} {discovery.names.get(r['Target_ID'], '')}".strip()
            for r in discovery.best_matches}
