"""The teacher's controls on the Class page: limits and goal, the class's model, its drawings, the end of it.

Every action passes the teacher key to ``model.classroom``, which checks it again.
"""

from __future__ import annotations

import contextlib
import io
import zipfile

import streamlit as st

from model.classroom.db import ClassroomError
from model.classroom.limits import Limits
from model.net.config import SETTING, SETTINGS
from model.storage.store import ModelNotFoundError, safe_name
from ui.classroom import Membership, classroom
from ui.language import _, say
from ui.resources import model_store
from ui.widgets import parse_setting
from utils.errors import ConfigError, LabError
from utils.i18n import N_, Message
from utils.settings import MAX_TRAIN_RANGE

UNIT_CHOICES = [int(units) for units in SETTING["units"].choices or ()]
MAX_SET_BYTES = 64 * 1024 * 1024
FIXED_EXAMPLE = "batch=64, dropout=0"  # URL names: the same in every language


def class_drawings_zip(code: str) -> bytes:
    """Every drawing set saved in class ``code``, in one zip: a folder per student holding their sets' zips."""
    store, room = model_store(), classroom()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # the sets are zips already
        for name in store.drawing_sets():
            owner = room.owner("set", name)
            if owner is not None and owner[0] == code:
                archive.writestr(f"{folder_name(owner[1])}/{name}.zip", store.drawing_set(name, MAX_SET_BYTES))
    return buffer.getvalue()


def folder_name(student: str) -> str:
    """A display name as a folder name any unzip tool accepts."""
    cleaned = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in student).strip(" .")
    return cleaned or "_"


def teacher_ui(member: Membership, limits: Limits) -> None:
    """What only the teacher sees: limits and goal, the class's model, its drawings, the end of the class."""
    assert member.teacher_key is not None
    limits_tab, model_tab, drawings_tab, end_tab = st.tabs(
        [_("Challenge and limits"), _("Class model"), _("Drawings"), _("End the class")]
    )
    with limits_tab:
        limits_form(member.code, member.teacher_key, limits)
    with model_tab:
        pin_ui(member.code, member.teacher_key)
    with drawings_tab:
        drawings_ui(member.code, member.teacher_key)
    with end_tab:
        end_ui(member.code, member.teacher_key)


def limits_form(code: str, key: str, limits: Limits) -> None:
    no_limit = _("no limit")
    with st.form("class_limits"):
        goal = st.text_area(_("Goal"), limits.goal, max_chars=300, placeholder=_("Best test accuracy with at most "
                            "2 hidden layers and 3 epochs"), key="limit_goal")  # fmt: skip
        layers, epochs = st.columns(2)
        max_layers = layers.number_input(_("Most hidden layers"), 1, 8, limits.max_hidden_layers, placeholder=no_limit,
                                         key="limit_layers")  # fmt: skip
        max_epochs = epochs.number_input(_("Most epochs"), 1, 100, limits.max_epochs, placeholder=no_limit,
                                         key="limit_epochs")  # fmt: skip
        units, digits = st.columns(2)
        unit_choices = sorted({*UNIT_CHOICES, limits.max_units or UNIT_CHOICES[0]})
        max_units = units.selectbox(
            _("Most units per layer"), [None, *unit_choices], [None, *unit_choices].index(limits.max_units),
            format_func=lambda value: no_limit if value is None else str(value), key="limit_units",
        )  # fmt: skip
        max_train = digits.number_input(_("Most training digits"), *MAX_TRAIN_RANGE, limits.max_train, 1000,
                                        placeholder=no_limit, key="limit_digits")  # fmt: skip
        activations = allowed_ui("activation", limits.activations)
        optimizers = allowed_ui("optimizer", limits.optimizers)
        fixed_text = st.text_input(
            _("Settings fixed for everyone"),
            ", ".join(f"{SETTING[name].param}={value}" for name, value in limits.fixed.items()),
            placeholder=FIXED_EXAMPLE,
            help=_("Names as in a Train page link (`layers`, `units`, `epochs`, `lr`, `batch`, `dropout`, "
                   "`optimizer`, `activation`...), comma-separated."),
            key="limit_fixed",
        )  # fmt: skip
        if not st.form_submit_button(_("Save the limits"), type="primary", icon=":material/save:"):
            return
    try:
        fixed = fixed_settings(fixed_text)
        new = Limits(max_layers, max_units, max_epochs, max_train, activations, optimizers, fixed, goal.strip())
        classroom().set_limits(code, key, new)
    except LabError as error:
        st.error(say(error))
    else:
        st.success(_("Saved: students' Train pages use these limits now."))


def allowed_ui(field: str, allowed: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Which options students may choose (all of them: None, no limit)."""
    options = SETTING[field].options or {}
    names = list(options)
    label = {"activation": N_("Allowed activations"), "optimizer": N_("Allowed optimizers")}[field]
    chosen = st.multiselect(_(label), names, list(allowed or names), format_func=lambda n: _(options[n].label),
                            key=f"limit_{field}")  # fmt: skip
    return None if set(chosen) == set(names) else tuple(chosen)


def fixed_settings(text: str) -> dict[str, object]:
    """'batch=64, dropout=0' as {field: value}; ConfigError naming what is wrong."""
    by_param = {setting.param: setting for setting in SETTINGS}
    fixed: dict[str, object] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        param, _sign, raw = (piece.strip() for piece in part.partition("="))
        setting = by_param.get(param)
        if setting is None or not raw:
            raise ConfigError(Message(N_("{part}: write a setting's name, = and a value, such as batch=64; names: "
                                         "{names}"), part=repr(part), names=list(by_param)))  # fmt: skip
        fixed[setting.field] = parse_setting(setting, raw)
    return fixed


def pin_ui(code: str, key: str) -> None:
    usable = [info.name for info in model_store().list() if info.usable]
    pinned = classroom().get(code).pinned_model
    options = [None, *usable]
    with st.form("pin_model", border=False):
        chosen = st.selectbox(
            _("The class's model (what students' Draw pages use until they train their own)"), options,
            options.index(pinned) if pinned in options else 0,
            format_func=lambda name: _("none: the server's default") if name is None else name, key="pin_choice",
        )  # fmt: skip
        if st.form_submit_button(_("Pin"), icon=":material/push_pin:"):
            try:
                classroom().pin_model(code, key, chosen)
            except ClassroomError as error:
                st.error(say(error))
            else:
                st.success(_("Pinned."))


def drawings_ui(code: str, key: str) -> None:
    st.caption(_("Every set of drawings your students saved on Your drawings, one folder per student."))
    if st.button(_("Collect the class's drawings"), icon=":material/folder_zip:", key="collect_drawings"):
        try:
            classroom().check_teacher(code, key)
            st.session_state["class_drawings_zip"] = class_drawings_zip(code)
        except LabError as error:
            st.error(say(error))
    data = st.session_state.get("class_drawings_zip")
    if data is not None:
        st.download_button(_("Download the zip"), data, file_name=f"class-{code}-drawings.zip",
                           mime="application/zip", icon=":material/download:", key="drawings_zip")  # fmt: skip


def end_ui(code: str, key: str) -> None:
    with st.form("end_class", border=False):
        remove = st.radio(
            _("The models and drawing sets made in this class"), [False, True],
            format_func=lambda yes: _("Remove them") if yes else _("Keep them"), key="end_remove",
        )  # fmt: skip
        if not st.form_submit_button(_("End the class"), icon=":material/door_front:"):
            return
    try:
        items = classroom().end(code, key)
        if remove:
            for kind, name in items:
                remove_item(kind, name)
    except LabError as error:
        st.error(say(error))
    else:
        st.success(_("The class has ended: students can no longer train in it."))


def remove_item(kind: str, name: str) -> None:
    """A model or drawing set made in a class; one already gone is fine."""
    store = model_store()
    if kind == "model":
        with contextlib.suppress(ModelNotFoundError):
            store.delete(name)
    else:
        (store.drawings_dir / f"{safe_name(name)}.zip").unlink(missing_ok=True)
