"""Looking inside a network: attributions, gradient flow, a hidden layer's projection, mistakes."""
