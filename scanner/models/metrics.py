"""Evaluation metrics as the field reports them, in numpy.

Classification: accuracy, AUROC, AUPRC (average precision), F1 at a 0.5
probability threshold. Regression: Pearson and Spearman r, mean squared error.
Ties are handled as scikit-learn does (average ranks; one precision-recall point
per distinct score).
"""

from __future__ import annotations

import numpy as np


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), ties sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    boundaries = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(values)]])
    mean_rank = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U); NaN when one class is absent."""
    labels = np.asarray(labels).astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = _ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: sum over score thresholds of (R_n - R_{n-1}) * P_n."""
    labels = np.asarray(labels).astype(bool)
    positives = int(labels.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    sorted_scores = np.asarray(scores, dtype=np.float64)[order]
    hits = np.cumsum(labels[order])
    last_of_threshold = np.concatenate([np.flatnonzero(np.diff(sorted_scores)), [len(order) - 1]])
    true_positives = hits[last_of_threshold]
    precision = true_positives / (last_of_threshold + 1)
    recall = true_positives / positives
    return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, AUROC, AUPRC and F1 of predicted probabilities against 0/1 labels.

    Parameters
    ----------
    labels : ndarray, shape (n,)
        0/1 truth.
    probabilities : ndarray of float, shape (n,)
        Predicted probability of class 1.
    threshold : float
        Probability at and above which a prediction counts as 1.
    """
    labels = np.asarray(labels).astype(bool)
    predicted = np.asarray(probabilities) >= threshold
    tp = int((predicted & labels).sum())
    fp = int((predicted & ~labels).sum())
    fn = int((~predicted & labels).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return {
        "n": int(len(labels)),
        "accuracy": float((predicted == labels).mean()) if len(labels) else float("nan"),
        "auroc": auroc(labels, probabilities),
        "auprc": auprc(labels, probabilities),
        "f1": float(f1),
    }


def regression_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Pearson r, Spearman r and mean squared error."""
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)

    def pearson(a, b):
        a, b = a - a.mean(), b - b.mean()
        denominator = np.sqrt((a * a).sum() * (b * b).sum())
        return float((a * b).sum() / denominator) if denominator > 0 else float("nan")

    return {
        "n": int(len(truth)),
        "pearson_r": pearson(truth, predicted),
        "spearman_r": pearson(_ranks(truth), _ranks(predicted)),
        "mse": float(np.mean((truth - predicted) ** 2)) if len(truth) else float("nan"),
    }
