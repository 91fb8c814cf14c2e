"""The network, its training and model storage.

Importing this package does not import TensorFlow: configuration and the list of saved
models are plain Python, so pages that only show them stay fast. TensorFlow is imported
by ``model.network``, ``model.training`` and when a model is loaded.
"""
