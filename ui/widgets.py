"""Widgets several pages share, each a function that returns what the user chose."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from model.config import SETTINGS, Setting, TrainingConfig
from model.storage import ModelInfo, ModelStore
from ui.resources import network_for
from utils.errors import ConfigError, LabError
from utils.preprocess import recipe_for

if TYPE_CHECKING:
    import keras

    from model.dense_file import DenseNetwork

KEEP = {"persist_state": "session"}  # settings survive a visit to another page


def setting_widget(setting: Setting, **options: Any) -> Any:
    """The Train page's control for one training setting: kind, range, default, label and help from the registry.

    Its key is its URL parameter's name (see ``settings_from_url``).
    """
    common = {"key": setting.param, "help": setting.help, **KEEP, **options}
    default = setting.default
    if setting.kind is bool:
        return st.toggle(setting.label, default, **common)
    if setting.options is not None:
        labels = {name: option.label for name, option in setting.options.items()}
        names = list(setting.options)
        if len(names) <= 3:
            return st.radio(setting.label, names, names.index(default), format_func=labels.get, horizontal=True,
                            **common)  # fmt: skip
        return st.selectbox(setting.label, names, names.index(default), format_func=labels.get, **common)
    if setting.choices is not None:
        return st.select_slider(setting.label, list(setting.choices), default, **common)
    low, high = setting.limits
    if setting.kind is int and high - low > 1000:
        return int(st.number_input(setting.label, int(low), int(high), default, **common))
    if setting.kind is int:
        return st.slider(setting.label, int(low), int(high), default, **common)
    return st.slider(setting.label, float(low), float(high), float(default), setting.step, **common)


def settings_ui(advanced: tuple[str, ...] = ()) -> TrainingConfig:
    """Every training setting, the ``advanced`` ones in an expander; returns the validated configuration.

    Settings named in the URL's ``hide`` (``?hide=lr,optimizer``) are not shown and keep their
    value (from the URL, else the default): a teacher's "only change the activation" lesson.
    """
    for problem in settings_from_url():
        st.warning(problem, icon=":material/link_off:")
    hidden = hidden_settings()
    shown = [s for s in SETTINGS if s.param not in hidden]
    chosen = {s.field: st.session_state.get(s.param, s.default) for s in SETTINGS if s.param in hidden}
    chosen |= {s.field: setting_widget(s) for s in shown if s.field not in advanced}
    if any(s.field in advanced for s in shown):
        with st.expander("More settings", expanded=False):
            chosen |= {s.field: setting_widget(s) for s in shown if s.field in advanced}
    config = TrainingConfig(**chosen)
    settings_to_url(config, hidden)
    return config


def parse_setting(setting: Setting, raw: str) -> Any:
    """A URL value as the setting's value; ConfigError (naming the setting and its range) if it cannot be one."""
    try:
        if setting.kind is bool:
            value: Any = {"true": True, "1": True, "on": True, "false": False, "0": False, "off": False}[raw.lower()]
        else:
            value = setting.kind(raw)
    except (KeyError, ValueError):
        raise ConfigError(f"{setting.param}={raw!r}: use {setting.range_text}") from None
    setting.check(value)
    if setting.choices is not None and value not in setting.choices:
        raise ConfigError(f"{setting.param}={raw!r}: use one of {', '.join(f'{c:g}' for c in setting.choices)}")
    return value


def settings_from_url() -> list[str]:
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
            problems.append(f"The link's {error}; the default ({setting.default}) is kept.")
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
        st.error("There is no usable model to classify with: train one on the Train page.")
        st.stop()
    names = [info.name for info in usable]
    active = store.active().name
    chosen = st.selectbox("Model", names, index=names.index(active) if active in names else 0,
                          help="Defaults to the active model.")  # fmt: skip
    info = usable[names.index(chosen)]
    try:
        network = network_for(info)
        recipe_for(info.metadata.preprocessing)  # a version this app does not know is refused here
    except LabError as error:
        st.error(f"This model cannot be used: {error}")
        st.stop()
    return info, network
