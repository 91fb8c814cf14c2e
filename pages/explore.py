"""Explore: the data the network learns from. Never imports TensorFlow."""

import altair as alt
import pandas as pd
import streamlit as st

from ui.charts import pixel_heatmap
from ui.resources import raw_mnist
from ui.shell import ensure_app_navigation
from ui.visual import thumbnail
from utils.dataset_stats import class_counts, indices_of, ink_window, mean_images
from utils.errors import MnistError

ensure_app_navigation()

GALLERY_SIZE = 24
GALLERY_COLUMNS = 8

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
page = st.slider(
    f"Page of the {len(positions):,} training samples of {digit} ({GALLERY_SIZE} a page)", 1, pages, 1,
    key="explore_page",
)  # fmt: skip
shown = positions[(page - 1) * GALLERY_SIZE : page * GALLERY_SIZE]
if st.session_state.get("explore_sample") not in shown:
    st.session_state["explore_sample"] = int(shown[0])
st.caption("Click a sample's number to look at it closely below.")
for row in range(0, len(shown), GALLERY_COLUMNS):
    for column, index in zip(st.columns(GALLERY_COLUMNS), shown[row : row + GALLERY_COLUMNS], strict=False):
        column.image(thumbnail(raw.x_train[index] / 255.0), width=72)
        if column.button(f"#{index}", key=f"sample_{index}", type="tertiary"):
            st.session_state["explore_sample"] = int(index)

sample = st.session_state["explore_sample"]
pixels = raw.x_train[sample]
heat_col, numbers_col = st.columns([2, 3])
with heat_col:
    st.markdown(f"**Heat map** of training image #{sample} (label {raw.y_train[sample]})")
    st.altair_chart(pixel_heatmap(pixels), width="content")
with numbers_col:
    st.markdown("**The 784 inputs** as the grid of numbers the network receives (0-255)")
    everything = st.toggle("All 28x28 (else only the rows and columns with ink)", False, key="explore_all")
    rows, cols = ink_window(pixels) if not everything else (slice(None), slice(None))
    st.dataframe(pd.DataFrame(pixels).iloc[rows, cols], height=400, width="stretch")

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
