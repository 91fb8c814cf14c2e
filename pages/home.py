"""Home: what the app is, the network this session uses, where to start. No TensorFlow here."""

import streamlit as st

from model.storage.store import ModelStorageError
from ui.diagram import network_dot
from ui.language import _, accuracy, number, say
from ui.resources import model_store
from ui.shell import ensure_app_navigation
from ui.workspace import session_model

ensure_app_navigation()

st.title("MNIST MLP Lab")
st.markdown(
    _(
        "Learn how a **deep feed-forward network** recognises handwriting. It reads the 784 "
        "pixels of a 28x28 digit, passes them through layers of neurons, and gives a probability "
        "for each digit 0-9. It learns by **backpropagation and gradient descent** on the 60,000 "
        "training digits of **MNIST**, and is scored on 10,000 digits it never saw."
    )
)

try:
    info = session_model(model_store())
except ModelStorageError as error:
    st.error(_("No model is available: {error}").format(error=say(error)))
else:
    st.subheader(_("Your network"))
    config = info.metadata.config
    if config is not None:
        st.graphviz_chart(network_dot(config), width="content")
        st.caption(
            _(
                "**{name}**: {architecture}, {parameters} trainable parameters, {activation} activations, "
                "test accuracy {accuracy}."
            ).format(
                name=say(info.name),
                architecture=config.architecture,
                parameters=number(config.parameter_count),
                activation=config.activation,
                accuracy=accuracy(info.metadata.test_accuracy),
            )
        )

st.subheader(_("Where to start"))
left, middle, mine, right, last = st.columns(5)
left.page_link("pages/draw.py", label=_("Draw a digit"), icon=":material/draw:")
left.caption(_("Draw with the mouse or a finger, watch the network decide, and look inside it."))
mine.page_link("pages/drawings.py", label=_("Teach it your handwriting"), icon=":material/school:")
mine.caption(_("Correct its mistakes, then teach a copy your style without it forgetting MNIST."))
middle.page_link("pages/train.py", label=_("Train a network"), icon=":material/monitoring:")
middle.caption(_("Choose layers, units and epochs; watch the loss fall live."))
right.page_link("pages/explore.py", label=_("Explore MNIST"), icon=":material/grid_on:")
right.caption(_("See the 784 numbers the network receives."))
last.page_link("pages/models.py", label=_("Compare models"), icon=":material/inventory_2:")
last.caption(_("Overlay learning curves; pick the model that answers."))
