"""Streamlit entry point: ``streamlit run app.py``. Navigation and the sidebar; pages live in pages/."""

from __future__ import annotations

import streamlit as st

from model.storage import ModelStorageError, ModelStore

st.set_page_config(page_title="MNIST MLP Lab", page_icon="✍️", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
]


def show_active_model() -> None:
    """Every page shows which network answers, read from metadata (no TensorFlow needed)."""
    with st.sidebar:
        st.caption("Active model")
        try:
            info = ModelStore().active()
        except ModelStorageError as error:
            st.error(str(error))
            return
        accuracy = f"{info.test_accuracy:.2%}" if info.test_accuracy is not None else "not scored"
        st.markdown(f"**{info.name}**  \n`{info.architecture}`  \nTest accuracy: **{accuracy}**")


navigation = st.navigation(PAGES)
show_active_model()
navigation.run()
