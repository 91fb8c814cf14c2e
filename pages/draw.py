"""Draw: a digit on the canvas (or an uploaded picture) classified as you draw."""

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from model.net.inference import Answer, answer
from ui.charts import probability_bars
from ui.drawings import feedback_ui
from ui.inside import inside_network_ui
from ui.language import _, percent, say
from ui.resources import model_store
from ui.shell import ensure_app_navigation
from ui.visual import displayable, pixel_grid
from ui.widgets import model_picker_ui
from utils.canvas_checks import canvas_problem
from utils.canvas_render import render_strokes
from utils.errors import LabError
from utils.image_io import MAX_IMAGE_PIXELS, decode_image
from utils.preprocess import preprocess_digit, recipe_for

ensure_app_navigation()

CANVAS_SIDE = 280
UNSURE_BELOW = 0.7  # a top probability below this is shown as a guess, not an answer
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp"]

st.title(_("Draw a digit"))

info, network = model_picker_ui(model_store())
recipe = recipe_for(info.metadata.preprocessing)


def show_prediction(image: np.ndarray | None, empty_prompt: str, key: str) -> Answer | None:
    """Prediction metric, probability bars and the 28x28 input, or a prompt when there is no ink.

    Returns the answer, with the forward pass it came from, so the inside views need no second pass.

    The canvas' metric sits in a container keyed ``prediction`` (CSS class ``st-key-prediction``),
    so tests find it in any language; the upload's in ``prediction_upload``.
    """
    try:
        digit = preprocess_digit(image, info.metadata.preprocessing) if image is not None else None
    except LabError as error:  # e.g. pixels that are not numbers
        st.error(_("This picture cannot be read: {error}").format(error=say(error)))
        return None
    if image is None or digit is None:
        st.info(empty_prompt)
        return None
    answered = answer(network, digit)
    probabilities = answered.probabilities
    best = int(probabilities.argmax())
    with st.container(key="prediction" if key == "canvas" else f"prediction_{key}"):
        st.metric(
            _("Prediction"),
            best,
            delta=_("{probability} confident").format(probability=percent(probabilities[best])),
            delta_arrow="off",
            delta_color="off",
            border=True,
        )
    if probabilities[best] < UNSURE_BELOW:
        st.warning(
            _(
                "The network is not sure: its best guess gets only {probability}. It must always pick one "
                "of the ten digits, even for a letter or a scribble, so a low score means it does not recognise the "
                "drawing."
            ).format(probability=percent(probabilities[best], 0)),
            icon=":material/help:",
        )
    feedback_ui(image, best, info, key)
    st.altair_chart(probability_bars(probabilities), width="stretch")
    st.image(pixel_grid(digit, scale=6), caption=_("What the network sees: 28x28 = 784 inputs"), width=168)
    st.caption(_("Your drawing, {steps}.").format(steps=", ".join(say(step) for step in recipe.steps())))
    return answered


def restart_canvas(strokes: list[dict]) -> None:
    """A fresh canvas holding ``strokes`` (none: cleared); the canvas cannot be changed in place."""
    st.session_state["canvas_start"] = (
        {"version": "7.4.0", "objects": strokes, "background": "#000000"} if strokes else None
    )
    st.session_state["canvas_version"] = st.session_state.get("canvas_version", 0) + 1
    st.rerun(scope="fragment")


@st.fragment
def drawing_area() -> None:
    """Only this part reruns on every stroke, so the answer comes back fast."""
    canvas_col, answer_col = st.columns([1, 1])
    with canvas_col:
        st.space("small")  # room for the canvas' own toolbar, which floats above it on mouse hover
        result = st_canvas(
            stroke_width=st.session_state.get("stroke_width", 20),
            stroke_color="#FFFFFF",
            background_color="#000000",
            height=CANVAS_SIDE,
            width=CANVAS_SIDE,
            drawing_mode="freedraw",
            initial_drawing=st.session_state.get("canvas_start"),
            return_image_data=True,
            key=f"canvas-{st.session_state.get('canvas_version', 0)}",
        )
        strokes = [item for item in (result.json_data or {}).get("objects", []) if item.get("type") == "Path"]
        image = result.image_data
        if image is None and strokes:  # rebuilt after an undo: the canvas sends its strokes, not their picture
            image = render_strokes(strokes, CANVAS_SIDE)
        undo_col, clear_col = st.columns(2)
        if undo_col.button(_("Undo stroke"), icon=":material/undo:", disabled=not strokes, width="stretch"):
            restart_canvas(strokes[:-1])
        if clear_col.button(_("Clear drawing"), icon=":material/delete:", disabled=not strokes, width="stretch"):
            restart_canvas([])
        st.slider(_("Stroke width"), 6, 40, 20, key="stroke_width", persist_state="session")
        st.caption(_("Draw one digit, large and centred or not: the network's input is made the way MNIST's was."))
    answered = None
    with answer_col:
        problem = canvas_problem(image) if image is not None else None
        if problem is not None:
            st.warning(say(problem.message), icon=":material/draw:")
        if problem is None or not problem.blocks_prediction:
            answered = show_prediction(
                image, _("Draw a digit (0-9) in the black box and the network will guess it."), "canvas"
            )
    if answered is not None:
        inside_network_ui(network, answered.trace)


drawing_area()

st.divider()
st.subheader(_("Or upload a picture"))
upload = st.file_uploader(
    _("A photo or scan of one handwritten digit (dark on light paper or light on dark)"),
    type=UPLOAD_TYPES,
    key="draw_upload",
)
if upload is not None:
    try:
        picture = decode_image(upload.getvalue(), upload.name)
    except LabError as error:
        st.error(
            _("{error}. Try a PNG or JPG of at most {megapixels} megapixels.").format(
                error=say(error), megapixels=MAX_IMAGE_PIXELS // 1_000_000
            )
        )
    else:
        picture_col, answer_col = st.columns([1, 1])
        picture_col.image(displayable(picture), caption=upload.name, width=CANVAS_SIDE)
        with answer_col:
            show_prediction(picture, _("No digit found in this picture: it looks blank."), "upload")
