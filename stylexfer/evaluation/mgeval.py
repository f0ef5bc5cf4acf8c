"""How close is a set of melodies to a real corpus? Yang & Lerch's relative measure (mgeval).

Yang & Lerch, "On the evaluation of generative models in music" (Neural Computing and
Applications, 2018), and their toolbox mgeval: for one feature (a histogram per melody),

  intra-set distances  Euclidean distances between every melody of the reference set and
                       every other one (each ordered pair, as mgeval's leave-one-out loop);
  inter-set distances  between every melody of the reference set and every melody of the
                       evaluated set;

both smoothed into densities by Gaussian kernel density estimation (scipy's gaussian_kde,
Scott's bandwidth, as mgeval). A set that sounds like the reference has inter-set
distances distributed like the reference's intra-set ones:

  overlap area   integral of min(p_intra, p_inter): 1 for the same distribution, 0 for
                 disjoint ones;
  KL divergence  KL(p_intra || p_inter) in nats: 0 for the same distribution.

Two departures from mgeval's code, both checked in tests/evaluation/test_mgeval.py on
Gaussians with a known answer: the overlap is integrated on a 2,001-point grid instead of
scipy.integrate.quad (the same number to 1e-3, and fast on 10^4 distances), and the KL
divergence compares both densities on one common grid. mgeval's kl_dist evaluates each
density on its own sample's range, so two sets of distances shifted by a constant score
0 there (kept as `mgeval_kl_dist` for comparison).
"""

import numpy as np
from scipy import stats

GRID_POINTS = 2001
MAX_DISTANCES = 10_000  # distances kept (at random) per density: KDE cost grows with both
_FLOOR = 1e-12


def intra_set_distances(features):
  """Distances between every melody of a set and every other one (n (n - 1) values)."""
  features = np.asarray(features, float)
  distances = _pairwise(features, features)
  return distances[~np.eye(len(features), dtype=bool)]


def inter_set_distances(features, other):
  """Distances between every melody of one set and every melody of another (n m values)."""
  return _pairwise(np.asarray(features, float), np.asarray(other, float)).reshape(-1)


def _pairwise(a, b):
  a = a.reshape(len(a), -1)
  b = b.reshape(len(b), -1)
  squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
  return np.sqrt(np.maximum(squared, 0))


def density(samples):
  """A Gaussian KDE of 1-D samples (a narrow normal around a constant sample)."""
  samples = np.asarray(samples, float).reshape(-1)
  if np.ptp(samples) == 0:
    width = 1e-3 * max(abs(samples[0]), 1.0)
    return lambda x: stats.norm.pdf(x, samples[0], width)
  return stats.gaussian_kde(samples)


def _grid(a, b):
  low, high = min(a.min(), b.min()), max(a.max(), b.max())
  if high == low:
    low, high = low - 1e-2, high + 1e-2
  return np.linspace(low, high, GRID_POINTS)


def overlap_area(a, b):
  """Area shared by the two samples' densities, over the range of both (as mgeval)."""
  a, b = np.asarray(a, float).reshape(-1), np.asarray(b, float).reshape(-1)
  grid = _grid(a, b)
  return float(np.trapezoid(np.minimum(density(a)(grid), density(b)(grid)), grid))


def kl_divergence(a, b):
  """KL(p_a || p_b) in nats between the samples' densities, on one grid over both ranges."""
  a, b = np.asarray(a, float).reshape(-1), np.asarray(b, float).reshape(-1)
  grid = _grid(a, b)
  p, q = density(a)(grid) + _FLOOR, density(b)(grid) + _FLOOR
  return float(stats.entropy(p, q))


def mgeval_kl_dist(a, b, num_sample=1000):
  """mgeval's utils.kl_dist as written: each density on its own range (see module doc)."""
  a, b = np.asarray(a, float).reshape(-1), np.asarray(b, float).reshape(-1)
  return float(stats.entropy(density(a)(np.linspace(a.min(), a.max(), num_sample)),
                             density(b)(np.linspace(b.min(), b.max(), num_sample))))


def _subsample(values, rng):
  if len(values) <= MAX_DISTANCES:
    return values
  return rng.choice(values, MAX_DISTANCES, replace=False)


def compare(reference, evaluated, seed=0):
  """mgeval's figures of an evaluated set against a reference set, for one feature.

  `reference` and `evaluated` are [melodies, bins] feature arrays. Returns {'overlap',
  'kl', 'intra_mean' (reference), 'inter_mean', 'evaluated_intra_mean'}.
  """
  rng = np.random.default_rng(seed)
  intra = _subsample(intra_set_distances(reference), rng)
  inter = _subsample(inter_set_distances(reference, evaluated), rng)
  own = intra_set_distances(evaluated) if len(evaluated) > 1 else np.zeros(1)
  return {'overlap': overlap_area(intra, inter), 'kl': kl_divergence(intra, inter),
          'intra_mean': float(intra.mean()), 'inter_mean': float(inter.mean()),
          'evaluated_intra_mean': float(own.mean())}
