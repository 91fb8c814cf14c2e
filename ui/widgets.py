"""Widgets several pages share, each a function that returns what the user chose."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import streamlit as st

from model.classroom.limits import Limits
from model.net.config import LIMITS, SETTINGS, Setting, TrainingConfig, shown
from model.storage.store import ModelInfo, ModelStore
from ui.language import _, say
from ui.resources import network_for
from ui.workspace import session_model
from utils.errors import ConfigError, LabError
from utils.i18n import N_, Message
from utils.preprocess import recipe_for

if TYPE_CHECKING:
    import keras

    from model.storage.dense_file import DenseNetwork

KEEP = {"persist_state": "session"}  # settings survive a visit to another page


def setting_widget(setting: Setting, limits: Limits | None = None, **options: Any) -> Any:
    """The Train page's control for one training setting: kind, range, default, label and help from the registry.

    Its key is its URL parameter's name (see ``settings_from_url``), so it keeps its value when the
    label changes language. A class's ``limits`` narrow it (a fixed knob is shown, disabled).
    """
    common = {"key": setting.param, "help": _(setting.help), **KEEP, **options}
    default, label = setting.default, _(setting.label)
    ceiling, allowed = _narrowing(setting, limits)
    if limits is not None:  # the value kept in the session (or from a link) moved inside the limits first
        default = _inside(limits, setting, default)
        if setting.param in st.session_state:
            st.session_state[setting.param] = _inside(limits, setting, st.session_state[setting.param])
        common["disabled"] = setting.field in limits.fixed
    if setting.kind is bool:
        return st.toggle(label, default, **common)
    if setting.options is not None:
        labels = {name: _(option.label) for name, option in setting.options.items()}
        names = [name for name in setting.options if allowed is None or name in allowed]
        if len(names) <= 3:
            return st.radio(label, names, names.index(default), format_func=labels.__getitem__, horizontal=True,
                            **common)  # fmt: skip
        return st.selectbox(label, names, names.index(default), format_func=labels.__getitem__, **common)
    if setting.choices is not None:
        choices = [choice for choice in setting.choices if ceiling is None or choice <= ceiling]
        default = max((choice for choice in choices if choice <= default), default=choices[0])
        if st.session_state.get(setting.param, default) not in choices:  # a limit between two stops
            st.session_state[setting.param] = default
        if len(choices) == 1:  # a slider needs two stops: one value is shown
            return setting.kind(
                st.number_input(label, choices[0], choices[0], choices[0], **common | {"disabled": True})
            )
        return st.select_slider(label, choices, default, **common)
    low, high = LIMITS[setting.field]
    high = high if ceiling is None else min(high, ceiling)
    if setting.kind is int and (high - low > 1000 or low == high):  # a slider needs a range: one value is shown
        common["disabled"] = common.get("disabled") or low == high
        return int(st.number_input(label, int(low), int(high), default, **common))
    if setting.kind is int:
        return st.slider(label, int(low), int(high), default, **common)
    return st.slider(label, float(low), float(high), float(default), setting.step, **common)


CEILINGS = {"hidden_layers": "max_hidden_layers", "units": "max_units", "epochs": "max_epochs"}  # field: its limit
ALLOWED = {"activation": "activations", "optimizer": "optimizers"}  # field: the limit naming its allowed options


def _narrowing(setting: Setting, limits: Limits | None) -> tuple[int | None, tuple[str, ...] | None]:
    """(the highest value a class allows for ``setting``, the options it allows); None where it sets none."""
    if limits is None:
        return None, None
    ceiling = getattr(limits, CEILINGS[setting.field]) if setting.field in CEILINGS else None
    allowed = getattr(limits, ALLOWED[setting.field]) if setting.field in ALLOWED else None
    return ceiling, allowed


def _inside(limits: Limits, setting: Setting, value: Any) -> Any:
    """``value`` of ``setting`` moved inside a class's limits (as ``Limits.apply`` moves a whole configuration)."""
    return getattr(limits.apply(TrainingConfig(**{setting.field: value})), setting.field)


def settings_ui(advanced: tuple[str, ...] = (), limits: Limits | None = None) -> TrainingConfig:
    """Every training setting, the ``advanced`` ones in an expander; returns the validated configuration.

    Settings named in the URL's ``hide`` (``?hide=lr,optimizer``) are not shown and keep their
    value (from the URL, else the default): a teacher's "only change the activation" lesson. In a
    class, ``limits`` narrow the widgets; the server checks the configuration again before training.
    """
    for problem in settings_from_url():
        st.warning(say(problem), icon=":material/link_off:")
    hidden = hidden_settings()
    shown = [s for s in SETTINGS if s.param not in hidden]
    chosen = {s.field: st.session_state.get(s.param, s.default) for s in SETTINGS if s.param in hidden}
    chosen |= {s.field: setting_widget(s, limits) for s in shown if s.field not in advanced}
    if any(s.field in advanced for s in shown):
        with st.expander(_("More settings"), expanded=False):
            chosen |= {s.field: setting_widget(s, limits) for s in shown if s.field in advanced}
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


def settings_link(hide: Sequence[str] = ()) -> str:
    """The Train page's address with these settings, and ``hide``'s controls hidden for whoever opens it."""
    base = st.context.url.split("?", 1)[0] if st.context.url else "/train"
    params = {key: value for key, value in st.query_params.items() if key != "hide"}
    if hide:
        params["hide"] = ",".join(hide)
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{base}?{query}" if query else base


def link_ui() -> None:
    """Copy link: the settings as a link, and a lesson's controls to hide chosen from a list (no hand-edited URL)."""
    labels = {setting.param: _(setting.label) for setting in SETTINGS}
    hide = st.multiselect(
        _("Hide these controls from whoever opens the link"),
        list(labels),
        default=sorted(hidden_settings() & labels.keys()),
        format_func=labels.__getitem__,
        key="link_hide",
    )
    st.code(settings_link(hide), language=None, wrap_lines=True)
    st.caption(_("This link opens the Train page with these settings (copy it with the button at the right)."))


def model_picker_ui(store: ModelStore) -> tuple[ModelInfo, DenseNetwork | keras.Model]:
    """A model chooser (defaulting to this session's model) and its network; stops the page with a message if none."""
    usable = [info for info in store.list() if info.usable]
    if not usable:
        st.error(_("There is no usable model to classify with: train one on the Train page."))
        st.stop()
    names = [info.name for info in usable]
    yours = session_model(store).name
    chosen = st.selectbox(_("Model"), names, index=names.index(yours) if yours in names else 0,
                          help=_("Defaults to your model, named in the sidebar."), key="picked_model")  # fmt: skip
    info = usable[names.index(chosen)]
    try:
        network = network_for(info)
        recipe_for(info.metadata.preprocessing)  # a version this app does not know is refused here
    except LabError as error:
        st.error(_("This model cannot be used: {error}").format(error=say(error)))
        st.stop()
    return info, network
