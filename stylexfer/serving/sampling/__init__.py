"""Sampling melodies inside the graph: LSTM cells stepped in a tf.while_loop.

The same seed gives the same melody in Python, in a reloaded SavedModel, in TF Serving and
under XLA. The rooms, in the order a request meets them:

  checks    the request's graph assertions, which every later op depends on
  heads     the two heads as tables and cells, one note a step
  draws     each note's seed, temperature and nucleus, the categorical draw; `Controls`
  generate  melodies drawn note by note, from nothing or a primer
  form      the bars a restyle keeps (`Form`), onsets a score writes, repeated bars
  restyle   new durations for a melody's intervals, its own rhythm blended with the genre's
"""
