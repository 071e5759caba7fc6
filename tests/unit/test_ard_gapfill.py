"""The gap-fill rule of ARD composites: the nearest period with a clear observation, every value from it."""

from __future__ import annotations

import numpy as np

from sporbar.ard.gapfill import fill_from_nearest_period, nearest_first


def test_nearest_first_prefers_the_closer_then_the_earlier_period() -> None:
    assert nearest_first([0, 10, 20], 1) == [0, 2]  # a tie: the earlier
    assert nearest_first([0, 10, 25], 1) == [0, 2]
    assert nearest_first([0, 15, 20], 1) == [2, 0]
    assert nearest_first([0, 10, 20], 0) == [1, 2]


def test_filled_pixels_take_every_value_of_the_nearest_observed_period_and_keep_their_count() -> None:
    rng = np.random.default_rng(0)
    periods, values = 3, 4
    products = rng.random((periods, values + 1, 5, 6)).astype(np.float32)
    count = rng.integers(0, 3, (periods, 5, 6))
    count[:, 0, 0] = 0  # seen in no period: stays empty
    count[:, 1, 1] = (0, 0, 2)  # period 0 and 1 empty: both from period 2
    count[:, 2, 2] = (0, 1, 1)  # period 0 from 1 (nearer), period 2 observed
    products[:, -1] = count
    unseen = np.zeros(products.shape, bool)
    unseen[:, :-1] = (count == 0)[:, None]
    products[unseen] = np.nan  # as period_products: NaN where a period saw nothing
    before = products.copy()
    filled = fill_from_nearest_period(products, centres=[0, 10, 20])
    assert np.array_equal(products[:, -1], before[:, -1])  # clear counts unchanged: filled = count 0 and finite
    assert np.array_equal(filled, (before[:, -1] == 0) & (before[:, -1] > 0).any(axis=0))
    assert np.isnan(products[:, :-1, 0, 0]).all()
    np.testing.assert_array_equal(products[0, :-1, 1, 1], before[2, :-1, 1, 1])
    np.testing.assert_array_equal(products[1, :-1, 1, 1], before[2, :-1, 1, 1])
    np.testing.assert_array_equal(products[0, :-1, 2, 2], before[1, :-1, 2, 2])
    np.testing.assert_array_equal(products[2, :-1, 2, 2], before[2, :-1, 2, 2])
    observed = before[:, -1] > 0
    np.testing.assert_array_equal(products[:, :-1][observed[:, None].repeat(values, 1)],
                                  before[:, :-1][observed[:, None].repeat(values, 1)])  # observed: untouched
    assert np.isfinite(products[:, :-1][filled[:, None].repeat(values, 1)]).all()


def test_a_period_that_is_not_a_target_stays_empty() -> None:
    products = np.full((2, 3, 2, 2), np.nan, np.float32)
    products[:, -1] = 0
    products[0] = 1.0  # period 0 observed everywhere (count 1)
    filled = fill_from_nearest_period(products, [0, 10], targets=[True, False])
    assert not filled.any() and np.isnan(products[1, :-1]).all()
