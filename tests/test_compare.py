"""Paired comparison of two classifiers on the same test texts."""

import numpy as np
import pytest

from bertclf.errors import BertclfError
from bertclf.evaluate.compare import compare, mcnemar


def test_mcnemar_counts_only_the_disagreements():
    a = np.array([1, 1, 1, 1, 0, 0, 1, 1])
    b = np.array([1, 1, 0, 0, 0, 1, 1, 1])
    only_a, only_b, p = mcnemar(a, b)
    assert (only_a, only_b) == (2, 1)
    assert p == pytest.approx(1.0)  # 1 of 3 disagreements: no evidence either way


def test_a_clear_difference_is_significant_and_its_interval_excludes_zero():
    rng = np.random.default_rng(0)
    b = rng.random(2000) < 0.80
    a = b | (rng.random(2000) < 0.30)  # A fixes 30% of B's mistakes and breaks nothing
    result = compare(a, b)
    assert result.difference == pytest.approx(a.mean() - b.mean())
    assert 0 < result.interval[0] < result.difference < result.interval[1]
    assert result.only_b_right == 0 and result.mcnemar_p < 1e-6


def test_identical_models_do_not_differ():
    a = np.random.default_rng(1).random(500) < 0.7
    result = compare(a, a)
    assert result.difference == 0 and result.interval == (0.0, 0.0) and result.mcnemar_p == 1.0


def test_several_seeds_are_averaged_per_text():
    seeds = np.array([[1, 0, 1, 1], [1, 1, 0, 1], [1, 0, 0, 1]])
    result = compare(seeds, np.array([1, 0, 0, 0]))
    assert result.accuracy_a == pytest.approx(seeds.mean())
    assert (result.only_a_right, result.only_b_right) == (2, 0)  # per seed: 2, 2 and 1 texts
    assert result.mcnemar_p == pytest.approx(max(mcnemar(s, [1, 0, 0, 0])[2] for s in seeds))


def test_texts_must_match():
    with pytest.raises(BertclfError, match="same texts"):
        compare(np.ones(10), np.ones(9))


def test_the_paired_bootstrap_of_a_large_test_set_stays_small_in_memory():
    """IMDB's 25,000 test texts: 10,000 resamples of every text at once would take 2 GB of indices."""
    import tracemalloc

    rng = np.random.default_rng(0)
    a, b = rng.random(25_000) < 0.9, rng.random(25_000) < 0.88
    tracemalloc.start()
    result = compare(a, b)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 400e6, f"{peak / 1e6:.0f} MB"
    assert result.interval[0] < result.difference < result.interval[1]
