import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scanner.genome.alphabet import decode, encode
from scanner.genome.encoding import one_hot, reverse_complement

codes_strategy = arrays(
    np.uint8,
    st.tuples(st.integers(1, 4), st.integers(0, 50)),
    elements=st.sampled_from([0, 1, 2, 3, 4, 8, 9, 10, 11, 12]),
)


def slow_one_hot(codes):
    out = np.zeros(codes.shape + (4,))
    for index in np.ndindex(codes.shape):
        base = "ACGTN"[codes[index] & 7]
        if base != "N":
            out[index + ("ACGT".index(base),)] = 1
    return out


def slow_reverse_complement(text):
    pairs = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}
    return "".join(pairs[c.upper()].lower() if c.islower() else pairs[c] for c in reversed(text))


@given(codes_strategy, st.sampled_from(["float32", "float16"]))
def test_one_hot_matches_slow_reference(codes, dtype):
    result = one_hot(codes, dtype)
    assert result.dtype == np.dtype(dtype)
    assert result.shape == codes.shape + (4,)
    np.testing.assert_array_equal(result, slow_one_hot(codes))


@given(codes_strategy)
def test_reverse_complement_matches_slow_reference(codes):
    result = reverse_complement(codes)
    for row, out in zip(codes, result):
        assert decode(out) == slow_reverse_complement(decode(row))


@given(codes_strategy)
@settings(max_examples=50)
def test_reverse_complement_is_an_involution_and_flips_one_hot(codes):
    np.testing.assert_array_equal(reverse_complement(reverse_complement(codes)), codes)
    np.testing.assert_array_equal(one_hot(reverse_complement(codes)), one_hot(codes)[:, ::-1, ::-1])


def test_encode_maps_ambiguity_to_n_and_keeps_soft_mask():
    assert decode(encode("ACGTNRYacgtnu")) == "ACGTNNNacgtnt"
    with pytest.raises(ValueError, match="'X'"):
        encode("ACX")


def test_one_hot_n_is_all_zero_and_rejects_int_dtype():
    np.testing.assert_array_equal(one_hot(encode("NA")), [[0, 0, 0, 0], [1, 0, 0, 0]])
    with pytest.raises(ValueError, match="float"):
        one_hot(encode("A"), "int8")
