"""mgeval's overlap area and KL divergence on cases whose answer is known in closed form."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from stylexfer.evaluation import mgeval


def test_identical_samples_overlap_fully_and_diverge_not_at_all():
  samples = np.random.default_rng(0).normal(size=500)
  # As in mgeval, the area is taken over the samples' range, so the tails are left out.
  assert mgeval.overlap_area(samples, samples) == pytest.approx(1.0, abs=5e-3)
  assert mgeval.kl_divergence(samples, samples) == pytest.approx(0.0, abs=1e-9)


def test_disjoint_samples_do_not_overlap():
  rng = np.random.default_rng(1)
  near, far = rng.normal(0, 0.1, 300), rng.normal(10, 0.1, 300)
  assert mgeval.overlap_area(near, far) < 1e-3
  assert mgeval.kl_divergence(near, far) > 10


def test_two_unit_gaussians_a_unit_apart_match_the_closed_form():
  # N(0, 1) against N(1, 1): overlap 2 * Phi(-1/2) = 0.617, KL = 1/2 nat. Kernel
  # smoothing widens both densities a little (Scott's factor), so the KL comes out lower.
  rng = np.random.default_rng(2)
  a, b = rng.normal(0, 1, 5000), rng.normal(1, 1, 5000)
  assert mgeval.overlap_area(a, b) == pytest.approx(2 * stats.norm.cdf(-0.5), abs=0.02)
  assert mgeval.kl_divergence(a, b) == pytest.approx(0.5, abs=0.05)


def test_the_grid_integral_equals_mgevals_quad():
  rng = np.random.default_rng(3)
  a, b = rng.gamma(2.0, 1.0, 400), rng.gamma(3.0, 1.0, 300)
  pdf_a, pdf_b = stats.gaussian_kde(a), stats.gaussian_kde(b)
  # mgeval's utils.overlap_area, as written there.
  quad = integrate.quad(lambda x: min(pdf_a(x)[0], pdf_b(x)[0]),
                        min(a.min(), b.min()), max(a.max(), b.max()), limit=200)[0]
  assert mgeval.overlap_area(a, b) == pytest.approx(quad, abs=1e-3)


def test_mgevals_own_kl_misses_a_shift_that_ours_sees():
  # mgeval's kl_dist reads each density on its own range, so a shifted copy scores 0.
  a = np.random.default_rng(4).normal(0, 1, 2000)
  assert mgeval.mgeval_kl_dist(a, a + 3) == pytest.approx(0.0, abs=1e-9)
  assert mgeval.kl_divergence(a, a + 3) > 3


def test_distances_follow_mgevals_leave_one_out_counts():
  features = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
  intra = mgeval.intra_set_distances(features)
  assert sorted(intra) == [5, 5, 5, 5, 10, 10]  # every ordered pair, never a melody to itself
  inter = mgeval.inter_set_distances(features, np.array([[0.0, 0.0]]))
  assert sorted(inter) == [0, 5, 10]


def test_a_set_drawn_like_the_reference_overlaps_it_and_another_does_not():
  rng = np.random.default_rng(5)
  reference = rng.dirichlet(np.ones(8) * 5, 80)
  alike = rng.dirichlet(np.ones(8) * 5, 80)
  unlike = rng.dirichlet(np.r_[np.ones(4) * 40, np.ones(4) * 0.2], 80)
  close, far = mgeval.compare(reference, alike), mgeval.compare(reference, unlike)
  assert close['overlap'] > 0.9 and close['kl'] < 0.05
  assert far['overlap'] < 0.2 and far['kl'] > 1
  assert math.isclose(close['intra_mean'], far['intra_mean'])
