import numpy as np
import pytest

from jaxnet.book.filters import FILTER_EXAMPLE, IMAGE_EXAMPLE, cosine_similarity, similarity_map

EXPECTED = [
    [0.327, 0.414, 0.327, 0.316, 0.183],
    [0.816, 0.852, 0.609, 0.426, 0.245],
    [0.390, 0.447, 0.573, 0.516, 0.467],
    [0.258, 0.552, 0.652, 0.889, 0.690],
    [0.689, 0.816, 0.778, 0.781, 0.632],
]


def test_normalized_patch_similarity_0_852():
    assert float(cosine_similarity([1, 1, 1, 0.5, 0.5, 0, 0, 0, 1], FILTER_EXAMPLE)) == pytest.approx(0.852, abs=5e-4)


def test_similarity_map_matches_the_printed_map():
    np.testing.assert_allclose(
        np.round(np.asarray(similarity_map(IMAGE_EXAMPLE, FILTER_EXAMPLE)), 3), EXPECTED, atol=1e-6
    )


def test_all_zero_patch_gives_zero():
    assert float(similarity_map(np.zeros((3, 3)), FILTER_EXAMPLE)[0, 0]) == 0.0
    with pytest.raises(ValueError, match="2-D image"):
        similarity_map(np.zeros((1, 3, 3)), FILTER_EXAMPLE)
