"""The floor for the Draw page's latency: the same canvas and metric, no model, no preprocessing."""

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

result = st_canvas(
    stroke_width=20, stroke_color="#FFFFFF", background_color="#000000", height=280, width=280,
    drawing_mode="freedraw", return_image_data=True, key="canvas",
)  # fmt: skip
image = result.image_data
ink = 0 if image is None else int((np.asarray(image)[:, :, 0] > 127).sum())
if ink:
    st.metric("Prediction", ink)
else:
    st.info("Draw a digit")
