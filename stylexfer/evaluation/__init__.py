"""Measures how well melodies are restyled and generated, against real music.

One idea per module, each usable from a script:

  data        held-out records as melody.Melody objects; Rendition: pitches with one rhythm
  histograms  interval, duration and onset-position histograms, duration transitions
  mgeval      Yang & Lerch's intra-/inter-set distances, overlap area and KL divergence
  classifier  genre classifiers on rhythm and on pitch features, grouped cross-validation
  structure   notes kept in their bars, repeated bars with one rhythm, runs of short notes
  novelty     the longest run of tokens a melody shares with a training set
  coherence   per-note NLL of rhythms under duration heads and n-grams
  quality     each head's held-out NLL and accuracy against the n-gram baseline
  transfer    generates the four combinations and restyles held-out melodies
  sweeps      restyles at each sampling setting, structure and strength, beside real music
  likeness    how far restyling like one melody moves the rhythm towards it
  swing       how WJazzD's soloists swing their eighths, by tempo
  plots       the report's figures (matplotlib)
  report      the report folder: Markdown, JSON of every figure, PNG figures
  suite       runs all of it for a set of SavedModels (stylexfer-evaluate)
"""
