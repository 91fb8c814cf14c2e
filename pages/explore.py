"""Explore: the data the network learns from. Never imports TensorFlow."""

import altair as alt
import pandas as pd
import streamlit as st

from ui.charts import pixel_heatmap
from ui.language import _, number, say
from ui.resources import raw_mnist
from ui.shell import ensure_app_navigation
from ui.visual import thumbnail
from utils.dataset_stats import class_counts, indices_of, ink_window, mean_images
from utils.errors import MnistError
from utils.i18n import N_

ensure_app_navigation()

GALLERY_SIZE = 24
GALLERY_COLUMNS = 8
SET_NAMES = {"train": N_("train"), "test": N_("test")}  # the bars' legend, translated where shown

st.title(_("Explore MNIST"))
st.markdown(
    _(
        "70,000 handwritten digits from about 500 writers, each scaled to fit 20x20 and centred "
        "in 28x28 pixels. The network sees each one as **784 numbers** from 0 (background) to 255 (ink)."
    )
)
try:
    raw = raw_mnist()
except MnistError as error:
    st.error(say(error))
    st.stop()


@st.cache_data(show_spinner=False)
def cached_summaries() -> tuple[pd.DataFrame, list]:
    return class_counts(raw), list(mean_images(raw))


counts, means = cached_summaries()

digit = st.segmented_control(_("Digit"), list(range(10)), default=0, key="explore_digit", required=True)
positions = indices_of(raw, digit)
pages = (len(positions) + GALLERY_SIZE - 1) // GALLERY_SIZE
page = st.slider(
    _("Page of the {count} training samples of {digit} ({size} a page)").format(
        count=number(len(positions)), digit=digit, size=GALLERY_SIZE
    ),
    1, pages, 1,
    key="explore_page",
)  # fmt: skip
shown = positions[(page - 1) * GALLERY_SIZE : page * GALLERY_SIZE]
if st.session_state.get("explore_sample") not in shown:
    st.session_state["explore_sample"] = int(shown[0])
st.caption(_("Click a sample's number to look at it closely below."))
for row in range(0, len(shown), GALLERY_COLUMNS):
    for column, index in zip(st.columns(GALLERY_COLUMNS), shown[row : row + GALLERY_COLUMNS], strict=False):
        column.image(thumbnail(raw.x_train[index] / 255.0), width=72)
        if column.button(f"#{index}", key=f"sample_{index}", type="tertiary"):
            st.session_state["explore_sample"] = int(index)

sample = st.session_state["explore_sample"]
pixels = raw.x_train[sample]
heat_col, numbers_col = st.columns([2, 3])
with heat_col:
    st.markdown(
        _("**Heat map** of training image #{index} (label {label})").format(index=sample, label=raw.y_train[sample])
    )
    st.altair_chart(pixel_heatmap(pixels), width="content")
with numbers_col:
    st.markdown(_("**The 784 inputs** as the grid of numbers the network receives (0-255)"))
    everything = st.toggle(_("All 28x28 (else only the rows and columns with ink)"), False, key="explore_all")
    rows, cols = ink_window(pixels) if not everything else (slice(None), slice(None))
    st.dataframe(pd.DataFrame(pixels).iloc[rows, cols], height=400, width="stretch")

mean_col, count_col = st.columns(2)
with mean_col:
    st.markdown(_("**The mean image of each digit** (all training samples averaged)"))
    st.image([thumbnail(image, 3) for image in means], caption=[str(d) for d in range(10)], width=64)
with count_col:
    st.markdown(_("**Samples per class**"))
    shown_counts = counts.assign(set=counts["set"].map(lambda split: _(SET_NAMES[split])))
    chart = (
        alt.Chart(shown_counts)
        .mark_bar()
        .encode(
            x=alt.X("digit:N", title=_("digit"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("samples:Q", title=_("samples")),
            xOffset="set:N",
            color=alt.Color("set:N", legend=alt.Legend(orient="bottom", title=None)),
            tooltip=[
                alt.Tooltip("digit:N", title=_("digit")),
                alt.Tooltip("set:N", title=_("set")),
                alt.Tooltip("samples:Q", title=_("samples")),
            ],
        )
        .properties(height=260)
    )
    st.altair_chart(chart, width="stretch")
