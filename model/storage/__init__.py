"""Saved models: the folder, each model's metadata, and the reader of `.keras` files from outside."""
