"""The front door: load a model, read a melody, restyle, generate, score and write.

  import stylexfer
  jazz = stylexfer.load('jazz')
  reel = stylexfer.read(stylexfer.REEL)
  jazz.restyle(reel, strength=0.7, seed=1).write('restyled')

`models` holds `load` and `Model` (a SavedModel and what it does with melodies),
`melodies` holds `read` and `Melody` (a melody that writes and shows itself). The
programs, the evaluation and the notebook go through here.
"""
