"""Data loading and image preprocessing; importable without TensorFlow."""
