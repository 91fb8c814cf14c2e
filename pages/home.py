"""Home: what the app is and where to start."""

import streamlit as st

from model.storage import ModelStorageError, ModelStore

st.title("✍️ MNIST MLP Lab")
st.markdown(
    "Learn how a **deep feed-forward network** recognises handwriting. Train one on the "
    "70,000 handwritten digits of **MNIST** (28x28 = 784 pixels in, 10 digits out), watch its "
    "loss fall while it learns, then draw a digit and see what it thinks."
)
try:
    info = ModelStore().active()
    accuracy = f"{info.test_accuracy:.2%}" if info.test_accuracy is not None else "not scored"
    st.info(f"Active model: **{info.name}** — `{info.architecture}`, test accuracy {accuracy}.")
except ModelStorageError as error:
    st.error(f"No model is available: {error}")
