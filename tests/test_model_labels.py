"""Label rules, balancing, splits and metrics on small hand-made tables."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.models.labels import (
    LabelError,
    Region,
    balance_classes,
    chromosome_folds,
    expression_labels,
    in_regions,
    parse_region,
    read_expression,
)
from scanner.models.metrics import auprc, auroc, classification_metrics, regression_metrics


def test_quartile_rule_on_a_hand_made_table():
    values = pd.Series([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], index=list("abcdefghi"))
    # numpy's linear percentiles: 25% = 2.0, 75% = 6.0; both bounds inclusive, as DeepCRE
    labels = expression_labels(values)
    assert labels.to_dict() == {"a": 0, "b": 0, "c": 0, "g": 1, "h": 1, "i": 1}
    # the median gene is at both bounds: the lower class wins, as in DeepCRE's if/elif
    assert expression_labels(values, lower=0.5, upper=0.5)["e"] == 0
    with pytest.raises(LabelError):
        expression_labels(values, lower=0.8, upper=0.2)


def test_balancing_keeps_the_minority_and_samples_the_majority():
    labels = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    kept = balance_classes(labels, np.random.default_rng(1))
    assert np.all(np.diff(kept) > 0)
    assert sorted(labels[kept].tolist()) == [0, 0, 1, 1]
    assert {0, 4} <= set(kept.tolist())
    again = balance_classes(labels, np.random.default_rng(1))
    assert np.array_equal(kept, again)
    with pytest.raises(LabelError, match="only class"):
        balance_classes(np.ones(4), np.random.default_rng(0))


def test_leave_one_chromosome_out_and_regions():
    lengths = {"chr1": 100, "chr2": 50, "chr3": 70}
    folds = chromosome_folds(["chr1", "chr3"], lengths)
    assert [f.name for f in folds] == ["chr1", "chr3"]
    assert folds[1].heldout == (Region("chr3", 0, 70),)
    with pytest.raises(LabelError, match="at least 2 contigs"):
        chromosome_folds(["chr1"], lengths)
    assert parse_region("chr1:11-20", lengths) == Region("chr1", 10, 20)
    assert parse_region("chr2", lengths) == Region("chr2", 0, 50)
    assert parse_region("chr1:1,001-2,000", {"chr1": 5000}) == Region("chr1", 1000, 2000)
    with pytest.raises(LabelError, match="not in the genome"):
        parse_region("chrX:1-5", lengths)
    contig = np.array([0, 0, 0, 1])
    start = np.array([0, 5, 20, 0])
    end = np.array([5, 12, 30, 10])
    hit = in_regions(contig, start, end, [Region("chr1", 10, 20)], ["chr1", "chr2"])
    assert hit.tolist() == [False, True, False, False]


def test_read_expression(tmp_path):
    path = tmp_path / "tpm.tsv"
    path.write_text("gene\tmax_tpm\nAT1G01010\t3.5\nAT1G01020\t0\n")
    values = read_expression(path)
    assert values.to_dict() == {"AT1G01010": 3.5, "AT1G01020": 0.0}
    path.write_text("gene\tleaf\troot\nA\t1\t2\nB\tx\t3\n")
    with pytest.raises(LabelError, match="choose one"):
        read_expression(path)
    with pytest.raises(LabelError, match=r"line 3: value 'x' in column 'leaf' of gene 'B'"):
        read_expression(path, value_column="leaf")
    assert read_expression(path, value_column="root").to_dict() == {"A": 2.0, "B": 3.0}
    path.write_text("gene,v\nA,1\nA,2\n")
    with pytest.raises(LabelError, match="line 3: gene 'A' appears more than once"):
        read_expression(path)


def _slow_auroc(labels, scores):
    pos = scores[labels == 1]
    neg = scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


@settings(max_examples=100)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6)), min_size=2, max_size=40))
def test_auroc_and_auprc_against_references(pairs):
    labels = np.array([p[0] for p in pairs])
    scores = np.array([p[1] for p in pairs], dtype=float) / 6
    if labels.min() == labels.max():
        assert np.isnan(auroc(labels, scores))
        return
    assert auroc(labels, scores) == pytest.approx(_slow_auroc(labels, scores), abs=1e-12)
    sklearn = pytest.importorskip("sklearn.metrics")
    assert auroc(labels, scores) == pytest.approx(sklearn.roc_auc_score(labels, scores), abs=1e-12)
    assert auprc(labels, scores) == pytest.approx(sklearn.average_precision_score(labels, scores), abs=1e-12)


def test_classification_and_regression_metrics_by_hand():
    metrics = classification_metrics(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.6, 0.1]))
    assert metrics["accuracy"] == 0.5
    assert metrics["f1"] == pytest.approx(0.5)  # tp 1, fp 1, fn 1
    assert metrics["auroc"] == 0.75
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    truth, predicted = rng.normal(size=50), rng.normal(size=50)
    predicted[:5] = predicted[5]  # ties
    out = regression_metrics(truth, predicted)
    assert out["pearson_r"] == pytest.approx(stats.pearsonr(truth, predicted)[0], abs=1e-12)
    assert out["spearman_r"] == pytest.approx(stats.spearmanr(truth, predicted)[0], abs=1e-12)
    assert out["mse"] == pytest.approx(np.mean((truth - predicted) ** 2))
