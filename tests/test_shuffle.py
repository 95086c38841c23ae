"""The dinucleotide shuffle: exact counts, fixed positions in place, seeded."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.attribution.shuffle import dinucleotide_shuffles, window_seeds


def runs(codes, fixed):
    """(start, end) of each maximal run of A/C/G/T not at a fixed position."""
    out, j = [], 0
    while j < len(codes):
        if fixed[j] or codes[j] >= 4:
            j += 1
            continue
        end = j
        while end < len(codes) and not fixed[end] and codes[end] < 4:
            end += 1
        out.append((j, end))
        j = end
    return out


def dinucleotides(seq):
    counts = np.zeros((4, 4), int)
    for a, b in zip(seq[:-1], seq[1:]):
        counts[a, b] += 1
    return counts


@settings(max_examples=200)
@given(
    st.lists(st.sampled_from([0, 1, 2, 3, 4, 8, 9, 10, 11]), min_size=1, max_size=120),
    st.integers(0, 2**31 - 1),
    st.data(),
)
def test_counts_kept_and_non_sequence_in_place(codes, seed, data):
    codes = np.array(codes, dtype=np.uint8)
    fixed = np.array(data.draw(st.lists(st.booleans(), min_size=len(codes), max_size=len(codes))))
    out = dinucleotide_shuffles(codes[None], np.array([seed]), 3, fixed=fixed)[0]
    base = codes & 7
    for shuffled in out:
        still = fixed | (base >= 4)
        assert np.array_equal(shuffled[still], base[still])
        for start, end in runs(base, fixed):
            original, new = base[start:end], shuffled[start:end]
            assert np.array_equal(dinucleotides(original), dinucleotides(new))
            assert new[0] == original[0] and new[-1] == original[-1]
    again = dinucleotide_shuffles(codes[None], np.array([seed]), 3, fixed=fixed)[0]
    assert np.array_equal(out, again)


def test_shuffles_vary_and_depend_only_on_the_window():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (6, 300)).astype(np.uint8)
    seeds = window_seeds(7, np.zeros(6, int), np.arange(6) * 1000, np.array(["+"] * 6))
    out = dinucleotide_shuffles(codes, seeds, 5)
    assert len({out[0, k].tobytes() for k in range(5)}) == 5
    assert np.mean(out[0, 0] != codes[0]) > 0.3
    # the same windows in another order and batch give the same references
    order = np.array([4, 1, 5])
    alone = dinucleotide_shuffles(codes[order], seeds[order], 5)
    assert np.array_equal(alone, out[order])
    assert not np.array_equal(window_seeds(8, np.zeros(6, int), np.arange(6) * 1000, np.array(["+"] * 6)), seeds)
    assert len(set(seeds.tolist())) == 6
