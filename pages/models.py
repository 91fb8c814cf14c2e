"""Models: every saved network, their curves side by side, and which one answers."""

import pandas as pd
import streamlit as st

from model.storage import ModelInfo
from ui.charts import history_overlay
from ui.learned import learned_ui
from ui.resources import model_store
from ui.shell import ensure_app_navigation
from utils.errors import ModelStorageError

ensure_app_navigation()

st.title("Models")
store = model_store()
models = store.list()
try:
    active = store.active().name
except ModelStorageError:
    active = None


def row(info: ModelInfo) -> dict:
    meta = info.metadata
    config, seconds = meta.config, meta.training_seconds
    return {
        "name": info.name + (" (active)" if info.name == active else ""),
        "architecture": meta.architecture,
        "test accuracy": meta.test_accuracy,
        "epochs": meta.epochs_completed,
        "optimizer": config.optimizer if config else None,
        "learning rate": config.learning_rate if config else None,
        "schedule": config.schedule if config else None,
        "activation": config.activation if config else None,
        "dropout": config.dropout if config else None,
        "batch": config.batch_size if config else None,
        "training time (s)": round(seconds, 1) if seconds is not None else None,
        "created": meta.created_at.replace("T", " ")[:19],
        "note": f"cannot be used: {info.problem}" if info.problem else ("stopped early" if meta.stopped_early else ""),
    }


st.dataframe(
    pd.DataFrame([row(info) for info in models]),
    hide_index=True,
    column_config={"test accuracy": st.column_config.NumberColumn(format="percent")},
)

st.subheader("Compare learning curves")
names = [info.name for info in models]
chosen = st.multiselect(
    "Models to overlay", names, default=[active] if active in names else names[:1], key="overlay_models",
    persist_state="session",  # kept when another model is made active below
)  # fmt: skip
fraction = st.toggle(
    "x axis: share of training", False, key="overlay_fraction",
    help="Each model's epochs as a share of its own training, so short and long runs line up.",
)  # fmt: skip
histories = {info.name: info.metadata.history for info in models if info.name in chosen}
if histories:
    st.caption("Colour: the model. Solid line: training; dashed: validation. One point per epoch.")
    loss_col, accuracy_col = st.columns(2)
    loss_col.altair_chart(history_overlay(histories, "loss", fraction), width="stretch")
    accuracy_col.altair_chart(history_overlay(histories, "accuracy", fraction), width="stretch")

learned_ui(store, models)

st.subheader("Manage a model")
name = st.selectbox("Model", names, index=names.index(active) if active in names else 0, key="manage_model")
info = models[names.index(name)]
make_active_col, download_col, delete_col = st.columns(3)
with make_active_col:
    if st.button("Make active", icon=":material/star:", disabled=name == active or not info.usable):
        try:
            store.set_active(name)
        except ModelStorageError as error:
            st.error(str(error))
        else:
            st.toast(f"{name} is now the active model.")
            st.rerun()
with download_col:
    st.download_button(  # the file is read when the button is pressed, not held per session
        "Download .keras",
        info.path.read_bytes,
        file_name=f"{name}.keras",
        mime="application/zip",
        icon=":material/download:",
        on_click="ignore",
    )
with delete_col:
    if info.builtin:
        st.caption("The pretrained default cannot be deleted.")
    else:
        sure = st.checkbox(f"Yes, delete {name} for good", key=f"confirm_delete_{name}")
        if st.button("Delete", icon=":material/delete:", disabled=not sure, type="primary"):
            try:
                store.delete(name)
            except ModelStorageError as error:
                st.error(str(error))
            else:
                st.toast(f"Deleted {name}.")
                st.rerun()
