"""Target curves: values in (0, 1), shapes kept, unknown names refused."""

import numpy as np
import pytest

from nnlab import targets


@pytest.mark.parametrize("name", list(targets.CURVES))
def test_curves_stay_inside_the_sigmoid_range_and_keep_shape_and_dtype(name):
    x = targets.grid(101)
    y = targets.curve(name, x)
    assert y.shape == (101, 1) and y.dtype == np.float32
    assert 0 < y.min() and y.max() < 1


def test_bump_and_sine_values():
    assert targets.curve("bump", np.array([0.0]))[0] == pytest.approx(0.9)
    assert targets.curve("bump", np.array([1.0]))[0] == pytest.approx(0.1 + 0.8 * np.exp(-8))
    assert targets.curve("sine", np.array([0.5]))[0] == pytest.approx(0.9)
    np.testing.assert_allclose(targets.grid(3)[:, 0], [-1, 0, 1])


def test_unknown_target_is_a_clear_error():
    with pytest.raises(ValueError, match="target 'cube' is unknown; allowed: bump, sine"):
        targets.curve("cube", [0.0])
