"""stylexfer: keep a melody's tones, give it another genre's rhythm."""

__version__ = '0.3.0'
