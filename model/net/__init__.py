"""The network and its training: settings, the Keras network, the NumPy network pages predict with,
data, augmentation, the training loop and its events."""
