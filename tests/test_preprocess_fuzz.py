"""Random arrays of any shape, dtype and range: preprocessing returns a digit, None, or ImageError."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from utils.preprocess import ImageError, preprocess_digit

DTYPES = st.sampled_from(
    [np.uint8, np.uint16, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_]
)
SHAPES = st.one_of(
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    st.tuples(st.integers(1, 80), st.integers(1, 80)),
    st.tuples(st.integers(1, 60), st.integers(1, 60), st.sampled_from([1, 2, 3, 4, 5])),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hnp.arrays(DTYPES, SHAPES, elements={"allow_nan": True, "allow_infinity": True}))
def test_any_array_gives_a_digit_none_or_image_error(array):
    try:
        digit = preprocess_digit(array)
    except ImageError:
        return
    if digit is not None:
        assert digit.shape == (28, 28) and digit.dtype == np.float32
        assert np.isfinite(digit).all() and digit.min() >= 0.0 and digit.max() <= 1.0


@pytest.mark.parametrize("extreme", [np.finfo(np.float64).max, np.finfo(np.float16).max])
def test_values_spanning_a_whole_float_range_still_scale(extreme):
    """Found by the fuzz test: max - min overflowed to inf and the digit became NaN."""
    image = np.full((40, 40), -extreme, dtype=type(extreme))
    image[8:32, 18:22] = extreme
    digit = preprocess_digit(image)
    assert digit is not None and np.isfinite(digit).all() and digit.max() > 0.9


@pytest.mark.parametrize("value", ["text", None, 3.5, [[1, 2], [3]], {"a": 1}])
def test_things_that_are_not_images_raise_image_error(value):
    with pytest.raises(ImageError):
        preprocess_digit(value)
