"""Model quality against the n-gram, and the evaluation report end to end on fixtures."""

import fractions
import json
import math
import os

from absl import flags
import numpy as np
import pytest

import fixtures
from stylexfer.programs import evaluate
from stylexfer.model import melody_model
from stylexfer.dataset import windows
from stylexfer.evaluation import data
from stylexfer.evaluation import quality


def test_lstm_and_ngram_are_scored_on_the_same_notes():
  train = windows.synthetic_melodies(12, seed=0, min_notes=20, max_notes=60)
  test = windows.synthetic_melodies(4, seed=1, min_notes=20, max_notes=60)
  model = melody_model.build_model(melody_model.preset('tiny'))
  report = quality.compare(model, train, test, test)
  notes = sum(len(m['durations']) for m in quality.as_lists(test))
  # The pitch head scores n - 1 intervals plus END, the duration head n durations plus END.
  assert report['lstm']['pitch']['tokens'] == report['ngram']['pitch']['tokens'] == notes
  assert report['lstm']['duration']['tokens'] == report['ngram']['duration']['tokens'] == (
      notes + 4)
  # An untrained model is close to uniform over its vocabulary.
  assert abs(report['lstm']['pitch']['nll'] - math.log(52)) < 0.1
  table = quality.format_table('synthetic', report)
  assert table.count('\n') == 3 and '| synthetic | duration |' in table


def test_evaluate_model_matches_the_masked_loss_on_one_batch():
  melodies = windows.synthetic_melodies(3, seed=2, min_notes=10, max_notes=30)
  model = melody_model.build_model(melody_model.preset('tiny'))
  report = quality.evaluate_model(model, melodies, batch_size=64)
  features, targets = next(iter(windows.eval_batches(
      windows.melody_windows(melodies, model.window), 64)))
  outputs = model(features)
  expected = melody_model.masked_loss('duration_logits', targets['duration_logits'],
                                      outputs['duration_logits'])
  np.testing.assert_allclose(report['duration']['nll'], float(expected), rtol=1e-5)


# The report, end to end: tiny untrained models and two small fixture corpora that differ
# in rhythm and in pitch, read in place of the built data set.

_STYLES = {  # steps between pitches, a rhythm, a time signature
    'folk': ([-2, -1, 1, 2, 2, -2], ['1/2', '1/2', '1/2', '1/2', '1', '1/2', '1/2'], '6/8'),
    'jazz': ([-6, -1, 1, 5, 7, -7, 3], ['1/3', '1/3', '1/3', '1/4', '1/4', '3/4', '1/2'], '4/4'),
}
_SPLITS = {'train': 8, 'validation': 2, 'test': 3}


def _record(genre, index, rng):
  steps, rhythm, signature = _STYLES[genre]
  notes = int(rng.integers(30, 60))
  pitches = [62]
  for _ in range(notes - 1):
    pitches.append(int(np.clip(pitches[-1] + rng.choice(steps), 45, 85)))
  durations = [fractions.Fraction(rhythm[i % len(rhythm)]) for i in range(notes)]
  melody = data.melody_of_notes(pitches, durations, signature, f'{genre}-{index}')
  record = fixtures.record_of(melody, genre)
  record.update(title=b'', source=b'fixture')
  return record


@pytest.fixture(scope='module')
def fixture_records():
  rng = np.random.default_rng(0)
  return {(genre, split): [_record(genre, f'{split}{i}', rng) for i in range(count)]
          for genre in _STYLES for split, count in _SPLITS.items()}


@pytest.fixture(scope='module')
def tiny_exports(tiny_genres):
  return {genre: os.path.join(tiny_genres, genre, '1') for genre in _STYLES}


def _run(argv, monkeypatch, records):
  monkeypatch.setattr(data, 'load_records',
                      lambda genre, split, data_dir=None: records[genre, split])
  monkeypatch.setattr(data, 'require_built', lambda genres, data_dir=None: None)
  flag_values = flags.FlagValues()
  evaluate.define_flags(flag_values)
  flag_values(['stylexfer-evaluate'] + argv)
  return evaluate.main(['stylexfer-evaluate'], flag_values)


@pytest.mark.slow
def test_the_report_is_written_for_tiny_models(tiny_exports, fixture_records, monkeypatch,
                                               tmp_path):
  out = str(tmp_path / 'report')
  corpora = tmp_path / 'corpora'
  os.makedirs(corpora / 'jazz-wjazzd')
  fixtures.write_wjazzd_csv(str(corpora / 'jazz-wjazzd' / 'wjazzd_melody.csv'))
  # With the measures only made when asked for, each as small as it goes.
  assert _run([f'--model=folk={tiny_exports["folk"]}', f'--model=jazz={tiny_exports["jazz"]}',
               f'--out={out}', '--count=3', '--length=24', '--max_melodies=3',
               '--strengths=0,1', '--folds=2', '--noprogress', '--restyle_sweep',
               '--sweep_settings=1:0.9,0.8:0.95', '--sweep_strengths=0,1',
               '--sweep_structures=bars', '--sweep_seeds=0,1', '--sweep_limit=2',
               '--like_pairs=2', '--swing', f'--manual_dir={corpora}'],
              monkeypatch, fixture_records) == 0
  for name in ('histograms_folk_to_jazz', 'histograms_jazz_to_folk', 'transitions_restyled',
               'transitions_generated', 'strength_curve', 'excerpt_before', 'excerpt_after'):
    assert os.path.getsize(os.path.join(out, 'figures', f'{name}.png')) > 1000
  with open(os.path.join(out, 'report.json')) as f:
    results = json.load(f, parse_constant=lambda name: pytest.fail(f'{name} in report.json'))
  assert set(results['sets']) == {
      'real:folk', 'real:jazz', 'restyled:folk>jazz', 'restyled:jazz>folk',
      'generated:folk/folk', 'generated:folk/jazz', 'generated:jazz/folk',
      'generated:jazz/jazz'}
  assert results['sets']['generated:folk/jazz']['melodies'] == 3
  assert results['sets']['generated:folk/jazz']['notes'] == 3 * 24
  # The fixture corpora differ in rhythm and in pitch: the judges learn them.
  for kind in ('rhythm', 'pitch'):
    assert results['classifier'][kind]['cross_validation']['balanced_accuracy'] == 1.0
    assert results['judged']['real:jazz'][kind]['jazz'] == 1.0
  # Strength 0 changes nothing, so every note stays in its bar.
  for curve in results['strength'].values():
    assert curve['strengths'] == [0, 1]
    assert curve['changed'][0] == 0 and curve['in_bars'][0] == 1
  assert results['structure']['real:folk']['in_bars'] == 1
  # The untrained heads draw from every 24th of a beat; restyles land where scores write.
  for direction in ('folk>jazz', 'jazz>folk'):
    assert results['structure'][f'restyled:{direction}']['written'] == 1
  # The written restyles and generated melodies: no bracket over more than its beat, no
  # tie over a repeat sign, no bar shorter than its input's, a clef, nothing lost.
  assert set(results['notation']) == {
      'restyled:folk>jazz@1', 'restyled:jazz>folk@1', 'generated:folk/folk',
      'generated:folk/jazz', 'generated:jazz/folk', 'generated:jazz/jazz'}
  for found in results['notation'].values():
    assert found['files'] == 3 and found['notes'] > 0
    for name in ('tuplet bracket over more than its beat', 'tie out of the last bar',
                 'tie over a repeat sign, an ending or a double bar',
                 "bar shorter than the input's"):
      assert found['per_100_notes'][name] == 0, name
    assert all(share == 0 for share in found['files_with'].values()), found['files_with']
  # Real held-out melodies come from the training corpora's style, not from training.
  assert results['novelty']['real:folk']['notes']['mean_novelty'] < 1
  assert results['quality']['jazz']['lstm']['duration']['tokens'] > 0
  with open(os.path.join(out, 'report.md')) as f:
    text = f.read()
  for heading in ('Model quality', 'The judges', 'Transfer judged independently',
                  'Histograms against the real corpora', 'Coherence', 'Structure',
                  'Strength curve', 'Lead sheets: what a copyist would correct', 'Novelty',
                  'Before and after', 'Restyle sweep', 'Restyling like one melody',
                  'Swing in WJazzD'):
    assert f'## {heading}' in text
  assert text.index('## The judges') < text.index('## Transfer judged independently')
  _check_the_measures_asked_for(results, text)


def _check_the_measures_asked_for(results, text):
  """The sweep, the restyles like a melody and the swing ratios, in report.json and .md."""
  rows = results['restyle_sweep']['rows']
  # The real melodies of each genre, then a row per direction, setting and strength.
  assert [(r['source'], r['temperature']) for r in rows[:2]] == [('folk', None),
                                                                  ('jazz', None)]
  assert [(r['source'], r['target'], r['temperature'], r['top_p'], r['strength'])
          for r in rows[2:]] == [
      (source, target, temperature, top_p, strength)
      for source, target in (('folk', 'jazz'), ('jazz', 'folk'))
      for temperature, top_p in ((1, 0.9), (0.8, 0.95)) for strength in (0, 1)]
  for row in rows:
    assert row['restyles'] == (2 if row['temperature'] is None else 4)  # 2 melodies, 2 seeds
    assert row['notes'] > 0 and 0 < row['head_nll'] and 0 < row['ngram_nll']
    for name in ('in_bars', 'written', 'judged_target', 'pitch_kept'):
      assert 0 <= row[name] <= 1, name
  for row in rows[2:]:
    assert row['structure'] == 'bars' and row['in_bars'] == 1
    # Strength 0 keeps the rhythm, which the rhythm judge calls the source genre's.
    if row['strength'] == 0:
      assert row['changed'] == 0 and row['judged_target'] == 0
    else:
      assert 0 < row['changed'] <= 1
  assert text.count('| folk to jazz | 1 | 0.9 | bars |') == 2
  for direction in ('folk>jazz', 'jazz>folk'):
    like = results['restyle_like'][direction]
    assert like['pairs'] == 2 and like['notes_heard'] == 200
    distances = [like[k] for k in ('plain_to_heard', 'like_to_heard', 'plain_to_other',
                                   'like_to_other')]
    assert all(0 < d <= 1 for d in distances), distances
  # The fixture's solos are played on their grid: one straight eighth pair at 120.
  found = results['swing']
  assert (found['solos'], found['pairs'], found['median']) == (3, 1, 1.0)
  assert found['by_tempo'] == [{'low': 120, 'high': 160, 'pairs': 1, 'median': 1.0}]
  assert '| 120-160 | 1 | 1.00 |' in text


def test_unbuilt_data_is_one_line_and_exit_status_one(tmp_path, capsys):
  flag_values = flags.FlagValues()
  evaluate.define_flags(flag_values)
  flag_values(['stylexfer-evaluate', f'--data_dir={tmp_path}', f'--out={tmp_path / "report"}',
               '--noprogress'])
  assert evaluate.main(['stylexfer-evaluate'], flag_values) == 1
  error = capsys.readouterr().err.strip()
  assert error.startswith('stylexfer-evaluate: error: melodies/') and '\n' not in error


def test_a_run_folder_without_a_model_is_one_line(tmp_path, capsys):
  flag_values = flags.FlagValues()
  evaluate.define_flags(flag_values)
  flag_values(['stylexfer-evaluate', f'--run_dir={tmp_path}', '--noprogress'])
  assert evaluate.main(['stylexfer-evaluate'], flag_values) == 1
  assert capsys.readouterr().err.strip() == (
      f'stylexfer-evaluate: error: --run_dir {tmp_path}: holds no model.keras (train it first)')


def test_bad_strengths_are_refused(tmp_path, capsys):
  flag_values = flags.FlagValues()
  evaluate.define_flags(flag_values)
  flag_values(['stylexfer-evaluate', '--strengths=0,2', f'--out={tmp_path}'])
  assert evaluate.main(['stylexfer-evaluate'], flag_values) == 1
  assert '--strengths must be numbers in [0, 1]' in capsys.readouterr().err


@pytest.mark.parametrize('flag, message', [
    ('--sweep_settings=1.0', '--sweep_settings must be TEMPERATURE:TOP_P pairs'),
    ('--sweep_settings=1.0:1.5', '--sweep_settings top_p must be in (0, 1], got 1.5'),
    ('--sweep_strengths=2', '--sweep_strengths strength must be in [0, 1], got 2.0'),
    ('--sweep_structures=bars,loose', '--sweep_structures must be some of bars, free'),
    ('--sweep_seeds=zero', '--sweep_seeds whole numbers'),
    ('--sweep_limit=0', '--sweep_limit must be at least 1, got 0'),
])
def test_bad_sweep_flags_are_refused_before_any_model_loads(flag, message, tmp_path, capsys):
  flag_values = flags.FlagValues()
  evaluate.define_flags(flag_values)
  flag_values(['stylexfer-evaluate', '--restyle_sweep', flag, f'--out={tmp_path}'])
  assert evaluate.main(['stylexfer-evaluate'], flag_values) == 1
  assert message in capsys.readouterr().err


def test_swing_without_a_wjazzd_table_is_refused(tmp_path, capsys):
  flag_values = flags.FlagValues()
  evaluate.define_flags(flag_values)
  flag_values(['stylexfer-evaluate', '--swing', f'--manual_dir={tmp_path}',
               f'--out={tmp_path}'])
  assert evaluate.main(['stylexfer-evaluate'], flag_values) == 1
  error = capsys.readouterr().err
  assert "--swing reads WJazzD's melody table under --manual_dir" in error
  assert 'jazz-wjazzd/wjazzd_melody.csv.gz' in error


@pytest.mark.slow
def test_the_strength_curve_of_one_direction_can_be_measured_alone(tiny_exports,
                                                                   fixture_records,
                                                                   monkeypatch):
  from stylexfer.serving import loading  # pylint: disable=g-import-not-at-top
  from stylexfer.evaluation import classifier  # pylint: disable=g-import-not-at-top
  from stylexfer.evaluation import suite  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(data, 'load_records',
                      lambda genre, split, data_dir=None: fixture_records[genre, split])
  training = {g: data.load_renditions(g, ('train', 'validation')) for g in _STYLES}
  assert [len(training[g]) for g in _STYLES] == [10, 10]
  rhythm = classifier.GenreClassifier('rhythm', excerpt=16).fit(training)
  pitch = classifier.GenreClassifier('pitch', excerpt=16).fit(training)
  melodies = [data.record_to_melody(r) for r in fixture_records['folk', 'test']]
  curve = suite.strength_curve(loading.load(tiny_exports['jazz']), melodies, 'folk', 'jazz',
                               rhythm, pitch, strengths=(0.0, 0.5, 1.0))
  assert curve['strengths'] == [0.0, 0.5, 1.0]
  assert curve['changed'][0] == 0 and curve['judged_target'][0] == 0
  assert curve['in_bars'][0] == 1 and curve['pitch_kept'] == [1.0] * 3
  assert 0 < curve['changed'][2] <= 1


def test_styles_says_which_labels_real_melodies_tell_apart(monkeypatch, tmp_path):
  # Folk records of two styles that differ in rhythm, 35 each; jazz records state none.
  rng = np.random.default_rng(1)
  records = {}
  for split in ('train', 'validation', 'test'):
    count = 35 if split == 'train' else 0
    folk = [_record('folk', f'x{i}', rng) for i in range(count)]
    for record in folk:
      record['style'] = b'x'
    other = [_record('jazz', f'y{i}', rng) for i in range(count)]
    for record in other:
      record.update(style=b'y', genre=b'folk', tempo=np.float32(90))
    records['folk', split] = folk + other
    records['jazz', split] = [_record('jazz', f'{split}{i}', rng) for i in range(3)]
  manual = tmp_path / 'corpora' / 'jazz-wjazzd'
  manual.mkdir(parents=True)
  fixtures.write_wjazzd_csv(str(manual / 'wjazzd_melody.csv.gz'))
  out = tmp_path / 'styles'
  assert _run(['--styles', f'--out={out}', f'--manual_dir={tmp_path / "corpora"}',
               '--folds=3'], monkeypatch, records) == 0
  text = (out / 'styles.md').read_text()
  assert '| folk | style | x | 35 |' in text and '| folk | style | y | 35 |' in text
  assert text.count('| yes |') == 2
  assert '| folk | tempo | slow | 35 |  |  | no: no other label to tell it from |' in text
  assert '## Swing in WJazzD' in text and '| bebop | 1 | 1 | 1.00 |' in text  # its metadata
  found = json.loads((out / 'styles.json').read_text())
  assert found['folk']['style']['controls'] == ['x', 'y'] and found['swing']['pairs'] == 1


def _labelled(genre, count, field, label, tempo, start, rhythm):
  """`count` 4/4 records of 48 notes in one rhythm, labelled and at one tempo."""
  rng = np.random.default_rng(start)
  found = []
  for i in range(count):
    durations = [fractions.Fraction(rhythm[k % len(rhythm)]) for k in range(48)]
    pitches = [int(p) for p in 62 + rng.integers(-5, 6, 48)]
    melody = data.melody_of_notes(pitches, durations, '4/4', f'{genre}-{label}-{start + i}')
    melody.style, melody.feel, melody.tempo = '', '', tempo
    setattr(melody, field, label)
    found.append(fixtures.record_of(melody, genre))
  return found


@pytest.mark.slow
def test_controls_measures_what_style_and_tempo_do(tiny_exports, monkeypatch, tmp_path):
  from stylexfer.evaluation import controls  # pylint: disable=g-import-not-at-top
  even, dotted = ['1/2'], ['3/4', '1/4']
  records = {}
  for genre, field, labels in (('folk', 'style', ('reel', 'jig')),
                               ('jazz', 'feel', ('swing', 'latin'))):
    for split, count in (('train', 12), ('validation', 2), ('test', 6)):
      records[genre, split] = [
          r for k, label in enumerate(labels)
          for r in _labelled(genre, count, field, label, (80.0, 250.0)[k],
                             1000 * k + 100 * len(split), (even, dotted)[k])]
  for name, value in (('LIMIT', 3), ('GENERATED', 3), ('LENGTH', 24), ('TEMPI', (90, 260))):
    monkeypatch.setattr(controls, name, value)
  out = tmp_path / 'controls'
  assert _run([f'--model=folk={tiny_exports["folk"]}', f'--model=jazz={tiny_exports["jazz"]}',
               '--controls', f'--out={out}', '--noprogress'], monkeypatch, records) == 0
  found = json.loads((out / 'controls.json').read_text())
  # Each head's NLL with the true labels and tempi, either, or neither.
  for genre in ('folk', 'jazz'):
    assert set(found['gains'][genre]) == {'both', 'style', 'tempo', 'neither'}
  # The judges of real melodies tell the fixture's two rhythms apart; each style's own
  # held-out melodies are restyled as the other style and judged.
  for genre, pair in (('folk', 'reel|jig'), ('jazz', 'swing|latin')):
    assert found['styles'][genre]['judges'] == {pair: 1.0}
    rows = found['styles'][genre]['rows']
    other = {'folk': 'jazz', 'jazz': 'folk'}[genre] + ' melodies'
    first, second = pair.split('|')
    assert sorted((r['source'], r['asked'], r['other']) for r in rows) == sorted(
        [(first, second, first), (second, first, second), (other, first, second),
         (other, second, first)])
    assert all(r['melodies'] == 3 and 0 <= r['judged'] <= 1 for r in rows)
    # How typical of the genre each style's restyles are, beside its real melodies.
    typical = found['styles'][genre]['coherence']
    assert set(typical) == {first, second, other}
    assert all({'any', first, second} <= set(nll) and all(v > 0 for v in nll.values())
               for nll in typical.values())
    assert found['styles'][genre]['real_nll'] > 0
  # Jazz states its tempi: a judge of real slow and fast melodies, and generated ones.
  tempo = found['tempo']['jazz']
  assert tempo['judge_real'] == 1.0 and set(tempo['generated']) == {'90', '260'}
  assert set(tempo['restyled_durations']) == {'restyled at 90', 'restyled at 260',
                                             'real slow', 'real fast'}
  assert found['tempo']['folk']['judge_real'] == 1.0
  text = (out / 'controls.md').read_text()
  assert '| folk | duration |' in text and '## Tempo: jazz' in text
  assert "under jazz's duration n-gram" in text
  assert os.path.getsize(out / 'tempo.png') > 1000
