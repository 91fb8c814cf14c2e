"""Widgets several pages share, each a function that returns what the user chose."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from model.net.config import LIMITS, SETTINGS, Setting, TrainingConfig, shown
from model.storage.store import ModelInfo, ModelStore
from ui.language import _, say
from ui.resources import network_for
from utils.errors import ConfigError, LabError
from utils.i18n import N_, Message
from utils.preprocess import recipe_for

if TYPE_CHECKING:
    import keras

    from model.storage.dense_file import DenseNetwork

KEEP = {"persist_state": "session"}  # settings survive a visit to another page


def setting_widget(setting: Setting, **options: Any) -> Any:
    """The Train page's control for one training setting: kind, range, default, label and help from the registry.

    Its key is its URL parameter's name (see ``settings_from_url``), so it keeps its value when the
    label changes language.
    """
    common = {"key": setting.param, "help": _(setting.help), **KEEP, **options}
    default, label = setting.default, _(setting.label)
    if setting.kind is bool:
        return st.toggle(label, default, **common)
    if setting.options is not None:
        labels = {name: _(option.label) for name, option in setting.options.items()}
        names = list(setting.options)
        if len(names) <= 3:
            return st.radio(label, names, names.index(default), format_func=labels.__getitem__, horizontal=True,
                            **common)  # fmt: skip
        return st.selectbox(label, names, names.index(default), format_func=labels.__getitem__, **common)
    if setting.choices is not None:
        return st.select_slider(label, list(setting.choices), default, **common)
    low, high = LIMITS[setting.field]
    if setting.kind is int and high - low > 1000:
        return int(st.number_input(label, int(low), int(high), default, **common))
    if setting.kind is int:
        return st.slider(label, int(low), int(high), default, **common)
    return st.slider(label, float(low), float(high), float(default), setting.step, **common)


def settings_ui(advanced: tuple[str, ...] = ()) -> TrainingConfig:
    """Every training setting, the ``advanced`` ones in an expander; returns the validated configuration.

    Settings named in the URL's ``hide`` (``?hide=lr,optimizer``) are not shown and keep their
    value (from the URL, else the default): a teacher's "only change the activation" lesson.
    """
    for problem in settings_from_url():
        st.warning(say(problem), icon=":material/link_off:")
    hidden = hidden_settings()
    shown = [s for s in SETTINGS if s.param not in hidden]
    chosen = {s.field: st.session_state.get(s.param, s.default) for s in SETTINGS if s.param in hidden}
    chosen |= {s.field: setting_widget(s) for s in shown if s.field not in advanced}
    if any(s.field in advanced for s in shown):
        with st.expander(_("More settings"), expanded=False):
            chosen |= {s.field: setting_widget(s) for s in shown if s.field in advanced}
    config = TrainingConfig(**chosen)
    settings_to_url(config, hidden)
    return config


# What a link got wrong, one whole sentence per kind of mistake (Setting.problem's kinds for the checks).
LINK_PROBLEMS = {
    "unreadable": N_("The link's {param}={raw}: use {low} to {high}; the default ({default}) is kept."),
    "unreadable_bool": N_("The link's {param}={raw}: use on or off; the default ({default}) is kept."),
    "choices": N_("The link's {param}={raw}: use one of {choices}; the default ({default}) is kept."),
    "bool": N_("The link's {field} must be True or False, got {value}; the default ({default}) is kept."),
    "options": N_("The link's {field} must be one of {names}, got {value}; the default ({default}) is kept."),
    "whole": N_("The link's {field} must be a whole number, got {value}; the default ({default}) is kept."),
    "finite": N_("The link's {field} must be a finite number, got {value}; the default ({default}) is kept."),
    "range": N_("The link's {field} must be between {low} and {high}, got {value}; the default ({default}) is kept."),
}


def _link_problem(setting: Setting, kind: str, **values: object) -> ConfigError:
    """The error for a refused URL value: what the setting allows, and that its default is kept."""
    return ConfigError(Message(LINK_PROBLEMS[kind], values, param=setting.param, default=shown(setting.default)))


def parse_setting(setting: Setting, raw: str) -> Any:
    """A URL value as the setting's value; ConfigError (naming the setting, its range, the default kept) if not."""
    try:
        if setting.kind is bool:
            value: Any = {"true": True, "1": True, "on": True, "false": False, "0": False, "off": False}[raw.lower()]
        else:
            value = setting.kind(raw)
    except (KeyError, ValueError):
        if setting.kind is bool:
            raise _link_problem(setting, "unreadable_bool", raw=repr(raw)) from None
        low, high = map(shown, LIMITS[setting.field])
        raise _link_problem(setting, "unreadable", raw=repr(raw), low=low, high=high) from None
    problem = setting.problem(value)
    if problem is not None:
        kind, values = problem
        raise _link_problem(setting, kind, **values)
    if setting.choices is not None and value not in setting.choices:
        raise _link_problem(setting, "choices", raw=repr(raw), choices=[shown(c) for c in setting.choices])
    return value


def settings_from_url() -> list[Message]:
    """Take settings from the URL the first time the page runs in a session; refuse bad values, keep defaults."""
    if st.session_state.get("_settings_read_from_url"):
        return []
    st.session_state["_settings_read_from_url"] = True
    problems = []
    for setting in SETTINGS:
        raw = st.query_params.get(setting.param)
        if raw is None:
            continue
        try:
            st.session_state[setting.param] = parse_setting(setting, raw)
        except ConfigError as error:
            problems.append(error.message)
    return problems


def hidden_settings() -> set[str]:
    return {name.strip() for name in st.query_params.get("hide", "").split(",") if name.strip()}


def settings_to_url(config: TrainingConfig, hidden: set[str]) -> None:
    """Keep the URL in step with the settings (defaults left out), so the address bar is a shareable link."""
    for setting in SETTINGS:
        value = getattr(config, setting.field)
        if value == setting.default:
            st.query_params.pop(setting.param, None)
        else:
            st.query_params[setting.param] = str(value).lower() if setting.kind is bool else str(value)
    if hidden:
        st.query_params["hide"] = ",".join(sorted(hidden))


def settings_link() -> str:
    """The Train page's address with these settings (and the current lesson's hidden controls)."""
    base = st.context.url.split("?", 1)[0] if st.context.url else "/train"
    query = "&".join(f"{key}={value}" for key, value in st.query_params.items())
    return f"{base}?{query}" if query else base


def model_picker_ui(store: ModelStore) -> tuple[ModelInfo, DenseNetwork | keras.Model]:
    """A model chooser (defaulting to the active model) and its network; stops the page with a message if none."""
    usable = [info for info in store.list() if info.usable]
    if not usable:
        st.error(_("There is no usable model to classify with: train one on the Train page."))
        st.stop()
    names = [info.name for info in usable]
    active = store.active().name
    chosen = st.selectbox(_("Model"), names, index=names.index(active) if active in names else 0,
                          help=_("Defaults to the active model."), key="picked_model")  # fmt: skip
    info = usable[names.index(chosen)]
    try:
        network = network_for(info)
        recipe_for(info.metadata.preprocessing)  # a version this app does not know is refused here
    except LabError as error:
        st.error(_("This model cannot be used: {error}").format(error=say(error)))
        st.stop()
    return info, network
