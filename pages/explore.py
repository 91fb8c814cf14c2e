"""Explore: the data the network learns from. Never imports TensorFlow."""

import altair as alt
import pandas as pd
import streamlit as st

from ui.charts import pixel_heatmap
from ui.resources import raw_mnist
from ui.shell import ensure_app_navigation
from ui.visual import thumbnail
from utils.dataset_stats import class_counts, indices_of, mean_images
from utils.errors import MnistError

ensure_app_navigation()

GALLERY_SIZE = 24

st.title("Explore MNIST")
st.markdown(
    "70,000 handwritten digits from about 500 writers, each scaled to fit 20x20 and centred "
    "in 28x28 pixels. The network sees each one as **784 numbers** from 0 (background) to 255 (ink)."
)
try:
    raw = raw_mnist()
except MnistError as error:
    st.error(str(error))
    st.stop()


@st.cache_data(show_spinner=False)
def cached_summaries() -> tuple[pd.DataFrame, list]:
    return class_counts(raw), list(mean_images(raw))


counts, means = cached_summaries()

digit = st.segmented_control("Digit", list(range(10)), default=0, key="explore_digit", required=True)
positions = indices_of(raw, digit)
pages = (len(positions) + GALLERY_SIZE - 1) // GALLERY_SIZE
page = st.slider(f"Browse the {len(positions):,} training samples of {digit}", 1, pages, 1, key="explore_page")
shown = positions[(page - 1) * GALLERY_SIZE : page * GALLERY_SIZE]
st.image([thumbnail(raw.x_train[i] / 255.0) for i in shown], caption=[f"#{i}" for i in shown], width=72)

sample = st.selectbox("Look closely at one sample", shown, format_func=lambda i: f"training image #{i}")
pixels = raw.x_train[sample]
heat_col, numbers_col = st.columns([2, 3])
with heat_col:
    st.markdown(f"**Heat map** of training image #{sample} (label {raw.y_train[sample]})")
    st.altair_chart(pixel_heatmap(pixels), width="content")
with numbers_col:
    st.markdown("**The 784 inputs** as the grid of numbers the network receives (0-255)")
    st.dataframe(pd.DataFrame(pixels), height=400, width="stretch")

mean_col, count_col = st.columns(2)
with mean_col:
    st.markdown("**The mean image of each digit** (all training samples averaged)")
    st.image([thumbnail(image, 3) for image in means], caption=[str(d) for d in range(10)], width=64)
with count_col:
    st.markdown("**Samples per class**")
    chart = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("digit:N", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("samples:Q"),
            xOffset="set:N",
            color=alt.Color("set:N", legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["digit:N", "set:N", "samples:Q"],
        )
        .properties(height=260)
    )
    st.altair_chart(chart, width="stretch")
