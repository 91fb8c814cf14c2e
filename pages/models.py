"""Models: every saved network, their curves side by side, and which one answers in this session."""

from functools import partial

import pandas as pd
import streamlit as st

from model.storage.dense_file import MAX_ARCHIVE_BYTES
from model.storage.store import ModelInfo
from ui.charts import history_overlay
from ui.classroom import why_not_removable
from ui.language import _, say
from ui.learned import learned_ui
from ui.resources import model_store
from ui.shell import ensure_app_navigation
from ui.workspace import session_model, use_model
from utils.errors import LabError, ModelStorageError
from utils.i18n import N_, Message
from utils.untrusted import check_regular, read_file

ensure_app_navigation()

st.title(_("Models"))
store = model_store()
models = store.list()
try:
    yours: str | None = session_model(store).name
except ModelStorageError:
    yours = None
ACCURACY_COLUMN = _("test accuracy")  # shown as a percentage


def note(info: ModelInfo) -> str:
    if info.problem:
        return _("cannot be used: {problem}").format(problem=say(info.problem))
    return _("stopped early") if info.metadata.stopped_early else ""


def row(info: ModelInfo) -> dict:
    meta = info.metadata
    config, seconds = meta.config, meta.training_seconds
    return {
        _("name"): _("{name} (your model)").format(name=info.name) if info.name == yours else info.name,
        _("architecture"): say(meta.architecture),
        ACCURACY_COLUMN: meta.test_accuracy,
        _("epochs"): meta.epochs_completed,
        _("optimizer"): config.optimizer if config else None,
        _("learning rate"): config.learning_rate if config else None,
        _("schedule"): config.schedule if config else None,
        _("activation"): config.activation if config else None,
        _("dropout"): config.dropout if config else None,
        _("batch"): config.batch_size if config else None,
        _("training time (s)"): round(seconds, 1) if seconds is not None else None,
        _("created"): meta.created_at.replace("T", " ")[:19],
        _("note"): note(info),
    }


st.dataframe(
    pd.DataFrame([row(info) for info in models]),
    hide_index=True,
    column_config={ACCURACY_COLUMN: st.column_config.NumberColumn(format="percent")},
)

st.subheader(_("Compare learning curves"))
names = [info.name for info in models]
chosen = st.multiselect(
    _("Models to overlay"), names, default=[yours] if yours in names else names[:1], key="overlay_models",
    persist_state="session",  # kept when another model is used below
)  # fmt: skip
fraction = st.toggle(
    _("x axis: share of training"), False, key="overlay_fraction",
    help=_("Each model's epochs as a share of its own training, so short and long runs line up."),
)  # fmt: skip
histories = {info.name: info.metadata.history for info in models if info.name in chosen}
if histories:
    st.caption(_("Colour: the model. Solid line: training; dashed: validation. One point per epoch."))
    loss_col, accuracy_col = st.columns(2)
    loss_col.altair_chart(history_overlay(histories, "loss", fraction), width="stretch")
    accuracy_col.altair_chart(history_overlay(histories, "accuracy", fraction), width="stretch")

learned_area = st.container()  # filled last, so nothing that goes wrong there hides Use this model and Delete

st.subheader(_("Manage a model"))
name = st.selectbox(_("Model"), names, index=names.index(yours) if yours in names else 0, key="manage_model")
info = models[names.index(name)]
use_col, download_col, delete_col = st.columns(3)
with use_col:
    if st.button(
        _("Use this model"), icon=":material/star:", disabled=name == yours or not info.usable, key="make_active",
        help=_("For you only, in this browser tab: nobody else's model changes. The address keeps it."),
    ):  # fmt: skip
        use_model(name)
        st.toast(_("{name} is now your model.").format(name=say(name)))
        st.rerun()
with download_col:
    try:  # the models folder is data from outside: never more than the largest model the reader accepts
        check_regular(info.path, MAX_ARCHIVE_BYTES, f"{name}.keras")
    except LabError as error:
        st.caption(say(Message(N_("No download: {reason}"), reason=error)))
    else:
        st.download_button(  # the file is read when the button is pressed, not held per session
            _("Download .keras"),
            partial(read_file, info.path, MAX_ARCHIVE_BYTES),
            file_name=f"{name}.keras",
            mime="application/zip",
            icon=":material/download:",
            on_click="ignore",
            key="download_model",
        )
with delete_col:
    not_yours = None if info.builtin else why_not_removable("model", name)
    if info.builtin:
        st.caption(_("The pretrained default cannot be deleted."))
    elif not_yours is not None:
        st.caption(say(not_yours))
    else:
        sure = st.checkbox(_("Yes, delete {name} for good").format(name=say(name)), key=f"confirm_delete_{name}")
        if st.button(_("Delete"), icon=":material/delete:", disabled=not sure, type="primary", key="delete_model"):
            try:
                store.delete(name)
            except ModelStorageError as error:
                st.error(say(error))
            else:
                st.toast(_("Deleted {name}.").format(name=say(name)))
                st.rerun()

with learned_area:
    learned_ui(store, models)
