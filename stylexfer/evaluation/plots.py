"""The report's figures, drawn with matplotlib (no display needed).

Each function draws one figure into a PNG and returns the data it plotted, as plain
lists, for the report's JSON.
"""

import matplotlib

matplotlib.use('Agg')  # files only: no display on servers and in tests

import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from stylexfer.evaluation import histograms  # pylint: disable=wrong-import-position

_DPI = 110
_COLOURS = ('#4c72b0', '#dd8452', '#55a868', '#c44e52', '#8172b2', '#937860')


def _duration_label(quarters):
  from fractions import Fraction  # pylint: disable=g-import-not-at-top
  value = Fraction(quarters).limit_denominator(24)
  return str(value.numerator) if value.denominator == 1 else f'{value.numerator}/{value.denominator}'


def _used(arrays, share=0.005, most=20):
  """Bins any of the histograms fills with at least `share`, the `most` fullest of them."""
  stacked = np.stack([np.asarray(a).reshape(-1) for a in arrays])
  peak = stacked.max(axis=0)
  order = [i for i in np.argsort(-peak) if peak[i] >= share][:most]
  return sorted(order)


def histogram_panels(sets, path, title=''):
  """Interval, duration and position-in-bar histograms of several sets side by side.

  `sets` maps a label to {'intervals', 'durations', 'positions'} pooled histograms.
  """
  labels = list(sets)
  fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
  plotted = {}
  width = 0.8 / max(len(labels), 1)
  for axis, name, bins, tick in (
      (axes[0], 'intervals', histograms.INTERVALS, lambda v: f'{int(v):+d}'),
      (axes[1], 'durations', histograms.DURATIONS, _duration_label),
      (axes[2], 'positions', histograms.POSITIONS, lambda v: f'{v:g}')):
    used = _used([sets[label][name] for label in labels], most=24 if name != 'positions' else 48)
    x = np.arange(len(used))
    for k, label in enumerate(labels):
      values = np.asarray(sets[label][name])[used]
      axis.bar(x + (k - (len(labels) - 1) / 2) * width, values, width,
               label=label, color=_COLOURS[k % len(_COLOURS)])
    step = max(1, len(used) // 16)
    axis.set_xticks(x[::step])
    axis.set_xticklabels([tick(bins[i]) for i in used][::step], rotation=60, fontsize=7)
    axis.set_title({'intervals': 'pitch interval (semitones)',
                    'durations': 'duration (quarter notes)',
                    'positions': 'onset in the bar (quarter notes)'}[name], fontsize=10)
    axis.set_ylabel('share of notes')
    plotted[name] = {'bins': [float(bins[i]) for i in used],
                     'sets': {label: np.asarray(sets[label][name])[used].tolist()
                              for label in labels}}
  axes[0].legend(fontsize=8)
  fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=_DPI)
  plt.close(fig)
  return plotted


def transition_heatmaps(matrices, path, most=12):
  """Duration-transition matrices of several sets as heatmaps over the commonest durations.

  `matrices` maps a label to a pooled [56, 56] matrix; rows are the first duration.
  """
  labels = list(matrices)
  usage = [np.asarray(m).sum(axis=1) + np.asarray(m).sum(axis=0) for m in matrices.values()]
  used = _used(usage, share=0.0, most=most)
  fig, axes = plt.subplots(1, len(labels), figsize=(4.2 * len(labels), 4.4), squeeze=False)
  ticks = [_duration_label(histograms.DURATIONS[i]) for i in used]
  plotted = {'durations': [float(histograms.DURATIONS[i]) for i in used], 'sets': {}}
  for axis, label in zip(axes[0], labels):
    part = np.asarray(matrices[label])[np.ix_(used, used)]
    # A square-root scale: eighth after eighth would otherwise be the only colour seen.
    axis.imshow(part, cmap='magma_r',
                norm=matplotlib.colors.PowerNorm(0.5, vmin=0, vmax=max(part.max(), 1e-9)))
    axis.set_xticks(range(len(used)))
    axis.set_xticklabels(ticks, rotation=90, fontsize=7)
    axis.set_yticks(range(len(used)))
    axis.set_yticklabels(ticks, fontsize=7)
    axis.set_xlabel('next duration')
    axis.set_title(label, fontsize=10)
    plotted['sets'][label] = part.tolist()
  axes[0][0].set_ylabel('duration')
  fig.tight_layout()
  fig.savefig(path, dpi=_DPI)
  plt.close(fig)
  return plotted


def strength_curve(curves, path):
  """Classifier judgement and share of changed durations against strength, per direction.

  `curves` maps a direction label to {'strengths', 'judged_target', 'pitch_kept',
  'changed'} lists.
  """
  fig, axis = plt.subplots(figsize=(7.5, 4.5))
  for k, (label, curve) in enumerate(curves.items()):
    colour = _COLOURS[k % len(_COLOURS)]
    axis.plot(curve['strengths'], curve['judged_target'], 'o-', color=colour,
              label=f'{label}: rhythm judged target genre')
    axis.plot(curve['strengths'], curve['changed'], 's--', color=colour,
              label=f'{label}: durations changed')
  axis.set_xlabel('strength')
  axis.set_ylabel('share')
  axis.set_ylim(-0.02, 1.02)
  axis.grid(alpha=0.3)
  axis.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=_DPI)
  plt.close(fig)
  return {label: dict(curve) for label, curve in curves.items()}

