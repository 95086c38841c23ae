"""Training: a planted motif in real genome background is learnt; runs are reproducible."""

import numpy as np
import pytest
import torch

from scanner.genome.alphabet import encode
from scanner.genome.store import fetch_codes
from scanner.models.recipes import make_folds, train_folds
from scanner.models.training import FitSettings, TrainingSet

MOTIF = "TGACGTCATG"


def planted_set(genome, n=600, length=200, seed=0) -> TrainingSet:
    """Real demo-genome windows; half carry MOTIF at a random place (label 1)."""
    rng = np.random.default_rng(seed)
    contig = genome.contig_names[0]
    size = int(genome.contigs.contig_length.values[0])
    starts = np.sort(rng.choice(np.arange(0, size - length, length), size=n, replace=False))
    codes = np.stack([fetch_codes(str(genome.path), contig, s, s + length, size) for s in starts]) & 7
    labels = (rng.random(n) < 0.5).astype(np.float32)
    motif = encode(MOTIF)
    for row in np.flatnonzero(labels):
        at = rng.integers(0, length - len(motif))
        codes[row, at : at + len(motif)] = motif
    return TrainingSet(codes=codes.astype(np.uint8), labels=labels[:, None], contig=np.zeros(n, np.int32), start=starts,
                       end=starts + length, names=np.array([f"w{i}" for i in range(n)]), contig_ids=[contig])


@pytest.fixture(scope="module")
def planted(demo_genome):
    return planted_set(demo_genome)


def train(data, architecture, hyper, **settings):
    lengths = {data.contig_ids[0]: 2_000_000}  # the demo contig
    folds = make_folds(data, holdout=[f"{data.contig_ids[0]}:1500001-2000000"], contig_lengths=lengths)
    fit_settings = FitSettings(**{"epochs": 8, "batch_size": 32, "learning_rate": 3e-3, "patience": 3, "seed": 1, **settings})
    return train_folds(data, folds, architecture=architecture, hyperparameters=hyper, task="classification",
                       window_layout={"layout": "regions", "window_length": 200}, settings=fit_settings)[0]


def test_a_planted_motif_is_learnt(planted):
    trained = train(planted, "regioncnn", {"channels": 16, "layers": 3, "stem_kernel": 11})
    assert trained.metrics["auroc"] > 0.9, trained.fit.history
    assert trained.card.training["windows_validation"] == trained.metrics["n"]
    assert trained.card.training["heldout_regions"] == [f"{planted.contig_ids[0]}:1500001-2000000"]
    assert trained.card.training["data_sha256"] == planted.checksum()
    assert trained.card.metrics["validation"]["auroc"] == trained.metrics["auroc"]


def test_argminn_learns_and_reads_out_the_planted_motif(planted):
    from scanner.models.readout import attention_instances, filter_motifs
    from scanner.genome.alphabet import decode

    trained = train(planted, "argminn", {"motifs": 4, "motif_width": 12}, epochs=12, patience=6)
    assert trained.metrics["auroc"] > 0.85, trained.fit.history
    positives = planted.codes[planted.labels[:, 0] == 1]
    motifs = filter_motifs(trained.model, positives)
    consensus = ["".join("ACGT"[i] for i in m.probabilities.argmax(axis=1)) for m in motifs]
    reverse = [c[::-1].translate(str.maketrans("ACGT", "TGCA")) for c in consensus]
    core = MOTIF[2:8]
    assert any(core in c for c in consensus + reverse), consensus
    instances = attention_instances(trained.model, positives[:50])
    assert set(instances.columns) >= {"window", "start", "end", "filter", "activation", "attention"}
    found = 0
    for row in instances.itertuples():
        found += core in decode(positives[row.window, row.start : row.end]) or False
    assert found > 0


def test_same_seed_same_model(planted):
    small = planted.subset(np.arange(0, 600, 3))
    first = train(small, "regioncnn", {"channels": 8, "layers": 2}, epochs=2)
    second = train(small, "regioncnn", {"channels": 8, "layers": 2}, epochs=2)
    for (name, a), (_, b) in zip(first.model.state_dict().items(), second.model.state_dict().items()):
        assert torch.equal(a, b), name
    third = train(small, "regioncnn", {"channels": 8, "layers": 2}, epochs=2, seed=2)
    assert not torch.equal(first.model.output.weight, third.model.output.weight)
