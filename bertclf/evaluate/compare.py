"""Comparing two classifiers scored on the same test set: paired statistics.

Two models tested on the same texts make correlated mistakes (the same hard texts trip both),
so two independent confidence intervals overstate the uncertainty of their difference. The
right tools look at the texts one by one:

- **McNemar's exact test** counts the texts only A gets right (``b``) and only B gets right
  (``c``); under "no difference" each such text is a fair coin flip, so ``min(b, c)`` is
  binomial(b + c, 1/2). With several seeds it is run per seed, and the largest p-value is kept.
- **Paired bootstrap** resamples test texts (the same resample for both models) and reads a
  95% interval off the resampled accuracy differences. Given several seeds of a model, each
  text's score is its mean correctness over the seeds, so seed noise is averaged in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, bootstrap

from bertclf.errors import BertclfError


@dataclass
class PairedComparison:
    """Accuracy of A and B on the same texts, their difference and its uncertainty."""

    accuracy_a: float
    accuracy_b: float
    difference: float  # A − B, in accuracy (0–1)
    interval: tuple[float, float]  # 95% paired-bootstrap interval of the difference
    only_a_right: int
    only_b_right: int
    mcnemar_p: float

    def __str__(self) -> str:
        low, high = self.interval
        return (f"A {self.accuracy_a:.4f} vs B {self.accuracy_b:.4f}: difference {100 * self.difference:+.1f} points\n"
                f"95% paired bootstrap {100 * low:+.1f} to {100 * high:+.1f}; only A right: {self.only_a_right} "
                f"texts, only B: {self.only_b_right}; McNemar p = {self.mcnemar_p:.2g}")


def _as_correct(correct) -> np.ndarray:
    """(texts,) or (seeds, texts) of 0/1 → per-text mean correctness over seeds."""
    array = np.asarray(correct, dtype=float)
    return array.mean(axis=0) if array.ndim == 2 else array


def mcnemar(correct_a, correct_b) -> tuple[int, int, float]:
    """Exact McNemar test on per-text correctness (0/1): (only A right, only B right, p-value)."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    p = binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return only_a, only_b, float(p)


def _difference(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return a.mean(axis=axis) - b.mean(axis=axis)


def _batch(texts: int, budget: int = 4_000_000) -> int:
    """Resamples per batch, so that one batch's resampled indices stay near ``budget`` numbers."""
    return max(1, budget // max(texts, 1))


def compare(correct_a, correct_b, *, resamples: int = 10_000, seed: int = 0) -> PairedComparison:
    """Paired comparison of A and B from per-text correctness on the same texts.

    Either argument may hold several seeds, shape ``(seeds, texts)``: the bootstrap uses each
    text's mean correctness; McNemar is run per seed pair, reporting the mean counts and the
    largest (most conservative) p-value.
    """
    per_seed_a, per_seed_b = np.atleast_2d(correct_a).astype(bool), np.atleast_2d(correct_b).astype(bool)
    a, b = _as_correct(correct_a), _as_correct(correct_b)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise BertclfError(f"need per-text correctness for the same texts, got shapes {a.shape} and {b.shape}")
    interval = bootstrap((a, b), _difference, paired=True, vectorized=True, n_resamples=resamples,
                         batch=_batch(len(a)), method="percentile", rng=np.random.default_rng(seed))
    low, high = interval.confidence_interval
    tests = [mcnemar(x, y) for x in per_seed_a for y in per_seed_b]
    only_a, only_b = (round(float(np.mean([t[k] for t in tests]))) for k in (0, 1))
    return PairedComparison(float(a.mean()), float(b.mean()), float(a.mean() - b.mean()),
                            (float(low), float(high)), only_a, only_b, max(t[2] for t in tests))
