"""sacred.store.downsample and sacred.store.paging, on plain data."""

from __future__ import annotations

import numpy as np
import pytest

from sacred.store.downsample import downsample_minmax, window


def test_downsampling_keeps_every_spike_and_dip():
    values = np.zeros(1_000_000)
    values[123_457] = 50.0
    values[876_543] = -50.0
    chosen = downsample_minmax(values, 1000)
    assert len(chosen) <= 1000
    assert 123_457 in chosen and 876_543 in chosen
    assert chosen[0] == 0 and chosen[-1] == 999_999
    assert np.all(np.diff(chosen) > 0)


def test_short_series_are_kept_whole_and_nan_never_wins():
    assert downsample_minmax([3.0, 1.0, 2.0], 10).tolist() == [0, 1, 2]
    values = np.array([np.nan, 5.0, 1.0, np.nan, 9.0, 0.5] * 10)
    chosen = downsample_minmax(values, 6)
    assert set(values[chosen[1:-1]]) <= {9.0, 0.5, 5.0, 1.0}
    with pytest.raises(ValueError, match="at least 4"):
        downsample_minmax(values, 2)


def test_window_finds_the_step_range():
    steps = np.arange(0, 100, 10)
    assert window(steps, 15, 45) == (2, 5)
    assert window(steps, None, None) == (0, 10)
    assert window(steps, 200, None) == (10, 10)
