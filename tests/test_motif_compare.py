import itertools

import numpy as np
import pytest

from scanner.motifs import Motif, read
from scanner.motifs.compare import block_distributions, compare_motifs, max_distribution, write_tomtom_tsv


@pytest.fixture(scope="module")
def plants():
    return read("jaspar2024:plants")[:120]


def test_a_motif_finds_itself_at_offset_zero(plants):
    query = plants[7]
    table = compare_motifs([query], plants)
    best = table.iloc[0]
    assert (best.Target_ID, best.Optimal_offset, best.Orientation, best.Overlap) == (query.motif_id, 0, "+", query.width)
    assert best["p-value"] < 1e-4 and best["E-value"] == pytest.approx(best["p-value"] * len(plants))
    assert table["p-value"].is_monotonic_increasing


def test_reverse_complement_and_sub_motif(plants):
    target = max(plants, key=lambda m: m.width * (m.width >= 10))
    rc = Motif("rc", "", target.probabilities[::-1, ::-1].copy(), target.n_sites)
    best = compare_motifs([rc], plants).iloc[0]
    assert (best.Target_ID, best.Orientation, best.Optimal_offset) == (target.motif_id, "-", 0)
    part = Motif("part", "", target.probabilities[2:8].copy(), target.n_sites)
    best = compare_motifs([part], plants).iloc[0]
    assert (best.Target_ID, best.Orientation, best.Optimal_offset, best.Overlap) == (target.motif_id, "+", 2, 6)


def test_block_sums_match_enumeration():
    rng = np.random.default_rng(0)
    scaled = rng.integers(0, 101, size=(3, 5))
    blocks = block_distributions(scaled)
    for (start, end), pmf in blocks.items():
        brute = np.zeros(pmf.size)
        for picks in itertools.product(range(5), repeat=end - start + 1):
            brute[sum(scaled[start + i, p] for i, p in enumerate(picks))] += 0.2 ** (end - start + 1)
        np.testing.assert_allclose(pmf, brute, atol=1e-15)


def test_max_distribution_matches_enumeration():
    rng = np.random.default_rng(1)
    pmfs = [rng.dirichlet(np.ones(4)) for _ in range(3)]
    got = max_distribution(pmfs, 4)
    brute = np.zeros(4)
    for values in itertools.product(range(4), repeat=3):
        brute[max(values)] += np.prod([p[v] for p, v in zip(pmfs, values)])
    np.testing.assert_allclose(got, brute, atol=1e-15)


def test_tsv_layout(plants, tmp_path):
    table = compare_motifs([plants[3]], plants, distance="pearson")
    write_tomtom_tsv(table, tmp_path / "t.tsv")
    lines = (tmp_path / "t.tsv").read_text().splitlines()
    assert lines[0] == "Query_ID\tTarget_ID\tOptimal_offset\tp-value\tE-value\tq-value\tOverlap\tQuery_consensus\tTarget_consensus\tOrientation"
    assert len(lines) == len(table) + 1 and lines[1].split("\t")[0] == plants[3].motif_id
    with pytest.raises(ValueError, match="distance"):
        compare_motifs([plants[3]], plants, distance="cosine")


def test_compare_command(tmp_path):
    from click.testing import CliRunner

    from pipelines.cli import main
    from scanner.motifs.writers import write_meme

    query = write_meme(read("jaspar2024:plants")[10:12], tmp_path / "q.meme")
    result = CliRunner().invoke(main, ["motifs", "compare", str(query), "--db", "jaspar2024:plants", "--tsv", str(tmp_path / "t.tsv")])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in (tmp_path / "t.tsv").read_text().splitlines()[1:]]
    best_per_query = {}
    for row in rows:
        best_per_query.setdefault(row[0], row)
    assert {q: r[1] for q, r in best_per_query.items()} == {m.motif_id: m.motif_id for m in read(query)}
