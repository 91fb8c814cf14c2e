"""Streamlit glue the pages share: cached resources, charts, pictures, widgets and the navigation guard.

The layers import one way: ``utils`` (data, images, errors; no Streamlit, no model code)
← ``model`` (networks, training, storage; no Streamlit) ← ``ui`` ← ``pages`` and ``app.py``.
"""
