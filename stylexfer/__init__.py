"""stylexfer: keep a melody's tones, give it another genre's rhythm."""

__version__ = '0.2.5'
