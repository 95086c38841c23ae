"""``scanner discover``: TF-MoDISco patterns of a run, matched to a motif database."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("discover")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the patterns.")
@click.option("--db", "databases", multiple=True, default=("jaspar2024:plants",), show_default=True, help="Motifs to match the patterns to.")
@click.option("--fdr", default=0.2, show_default=True)
@click.option("--max-seqlets", default=2000, show_default=True, help="Seqlets per sign used for clustering.")
@click.option("--leiden-runs", default=8, show_default=True)
def discover(run, output, databases, fdr, max_seqlets, leiden_runs):
    """Discover motifs (modisco-lite), match them to JASPAR by TOMTOM's method, draw their logos."""
    from scanner.cres.discovery import discover as discover_patterns, save_patterns
    from scanner.motifs.compare import compare_motifs, write_tomtom_tsv
    from scanner.motifs.readers import read
    from scanner.motifs.writers import write_meme

    patterns = discover_patterns(run, fdr=fdr, max_seqlets=max_seqlets, leiden_runs=leiden_runs)
    output.mkdir(parents=True, exist_ok=True)
    save_patterns(patterns, output / "patterns.h5")
    write_meme(patterns.motifs, output / "patterns.meme")
    targets = [m for db in databases for m in read(db)]
    matches = compare_motifs(patterns.motifs, targets, threshold=1.0) if patterns.motifs else None
    if matches is not None:
        write_tomtom_tsv(matches, output / "jaspar_matches.tsv")
    click.echo(f"{len(patterns.positive)} positive and {len(patterns.negative)} negative patterns; "
               f"{output / 'patterns.h5'} (modisco-lite layout), {output / 'patterns.meme'}")
    from scanner.cres.logos import motif_logo

    logos = output / "logos"
    logos.mkdir(exist_ok=True)
    by_id = {m.motif_id: m for m in targets}
    best_by_query = {}
    if matches is not None and len(matches):
        best_by_query = {r["Query_ID"]: r for r in matches.sort_values("q-value").groupby("Query_ID").head(1).to_dict("records")}
    for motif in patterns.motifs:
        motif_logo(motif.probabilities, logos / f"{motif.motif_id}.png", title=f"{motif.motif_id} ({motif.n_sites:g} seqlets)")
        match = best_by_query.get(motif.motif_id)
        if match is not None and match["Target_ID"] in by_id:
            target = by_id[match["Target_ID"]]
            probabilities = target.probabilities if match["Orientation"] == "+" else target.probabilities[::-1, ::-1]
            motif_logo(probabilities, logos / f"{motif.motif_id}.match.png",
                       title=f"{target.motif_id} {target.name} (q = {match['q-value']:.2g})")
    if matches is not None and len(matches):
        names = {m.motif_id: m.name for m in targets}
        best = matches.sort_values("q-value").groupby("Query_ID").head(1)
        for row in best.to_dict("records"):
            click.echo(f"  {row['Query_ID']}: best match {row['Target_ID']} {names.get(row['Target_ID'], '')} "
                       f"(q = {row['q-value']:.2g})")
