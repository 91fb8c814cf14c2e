"""The network, its training, saved models, looking inside, and jobs: one sub-package each.

``net`` (settings, the Keras and NumPy networks, data, training), ``storage`` (the models
folder, metadata, the ``.keras`` reader), ``inside`` (explanations, gradient flow,
projections), ``jobs`` (the job engine, training and teaching work), and ``cli``.
Importing this package does not import TensorFlow: configuration and the list of saved
models are plain Python, so pages that only show them stay fast. TensorFlow is imported
by ``model.net.network``, ``model.net.training`` and when a model is loaded.
"""
