"""haechi: find, judge and preserve deepfake sexual abuse material for the people fighting it."""

__version__ = "0.1.0"
