"""Train: choose a network, train it in the background, watch the curves live."""

import numpy as np
import streamlit as st

from model.jobs.estimate import duration, training_seconds
from model.jobs.progress import ProgressSnapshot
from model.jobs.work import TrainingJob, TrainingOutcome, TrainingWork
from model.net.config import SETTING, TrainingConfig
from ui.charts import (
    confusion_heatmap,
    gradient_norm_lines,
    training_curves,
    unit_share_bars,
    unit_share_height,
    update_ratio_lines,
)
from ui.classroom import class_limits, class_owner, limits_ui, start_class_run
from ui.diagram import network_dot
from ui.job_progress import job_progress_ui, one_job_each
from ui.language import _, accuracy, number, percent, say
from ui.resources import model_store, raw_mnist, training_queue, training_workers
from ui.shell import ensure_app_navigation, session_connected
from ui.visual import digit_table, thumbnail
from ui.widgets import link_ui, settings_ui
from ui.workspace import job_owner, use_model
from utils.errors import LabError, MnistError
from utils.i18n import N_, Message, num
from utils.preprocess import mnist_as_trained
from utils.settings import TRAIN_IMAGES, read_settings

ensure_app_navigation()

ADVANCED = ("batch_size", "learning_rate", "optimizer", "schedule", "activation", "dropout", "validation_fraction",
            "seed")  # fmt: skip
PREVIEW_DIGITS = (2, 4, 7, 8)
PREVIEW_COPIES = 4

st.title(_("Train a network"))
training_workers()  # start a training process now, so that Train answers at once
job: TrainingJob | None = st.session_state.get("training_job")
busy = job is not None and job.state.active


def live_curves(job: TrainingJob, snapshot: ProgressSnapshot) -> None:
    """The curves so far, redrawn with the progress bar while training; the training process never waits for them."""
    config = job.work.config
    batches, epochs = snapshot.batch_curve(), snapshot.epoch_curve()
    if len(batches):
        loss_col, accuracy_col = st.columns(2)
        loss_col.altair_chart(training_curves(batches, epochs, "loss"), width="stretch")
        accuracy_col.altair_chart(training_curves(batches, epochs, "accuracy"), width="stretch")
        handicap = handicap_text(config)
        if handicap:
            st.caption(handicap)
    if snapshot.layer_stats:
        gradient_flow_view(snapshot, config)


def handicap_text(config: TrainingConfig) -> str | None:
    """Why dropout or augmentation keeps the training loss above the validation loss; None without either."""
    if config.dropout > 0 and config.augment:
        return _(
            "Why is the training loss above the validation loss? While training, dropout switches units off and "
            "augmentation distorts the digits; validation uses the whole network on plain digits. It is a "
            "handicap in practice, not a sign of a problem."
        )
    if config.dropout > 0:
        return _(
            "Why is the training loss above the validation loss? While training, dropout switches units off; "
            "validation uses the whole network on plain digits. It is a handicap in practice, not a sign of a "
            "problem."
        )
    if config.augment:
        return _(
            "Why is the training loss above the validation loss? While training, augmentation distorts the "
            "digits; validation uses the whole network on plain digits. It is a handicap in practice, not a sign "
            "of a problem."
        )
    return None


def gradient_flow_view(snapshot: ProgressSnapshot, config: TrainingConfig) -> None:
    """Per-layer gradients, update sizes and idle units, measured on 256 training digits as the network trains."""
    st.subheader(_("Gradient flow"))
    first = snapshot.layer_stats[0].gradient_norms
    if len(first) > 2:  # at least two hidden layers to compare
        ratio = first[-2] / max(first[0], 1e-30)
        st.caption(
            _(
                "Before the first update, the last hidden layer's gradient was **{ratio}x** the first layer's. "
                "Backpropagation multiplies the gradient by each layer's weights and activation slope on its way "
                "back to the input; a sigmoid's slope is at most 0.25, so in deep sigmoid networks the first "
                "layers barely learn (vanishing gradients). ReLU's slope is 1 where it is active."
            ).format(ratio=number(ratio, 1))
        )
    curve = snapshot.gradient_curve()
    st.altair_chart(gradient_norm_lines(curve), width="stretch")
    st.altair_chart(update_ratio_lines(curve), width="stretch")
    what = "dead" if config.activation == "relu" else "saturated"
    shares = snapshot.unit_shares()
    st.altair_chart(unit_share_bars(shares, what), width="stretch", height=unit_share_height(len(shares)))
    if what == "dead":
        st.caption(
            _(
                "Top: size of each layer's weight gradient. Middle: how much one update changes the weights, with "
                "the 1e-3 rule of thumb (dashed). Bars: units that are dead on 256 training digits (output 0 for "
                "every digit: they cannot learn)."
            )
        )
    else:
        st.caption(
            _(
                "Top: size of each layer's weight gradient. Middle: how much one update changes the weights, with "
                "the 1e-3 rule of thumb (dashed). Bars: units that are saturated on 256 training digits (stuck "
                "near their limits)."
            )
        )


def request_training(**changes: object) -> None:
    """A one-click lesson: change some settings (before the widgets are drawn) and start training."""
    for key, value in changes.items():
        st.session_state[SETTING[key].param] = value
    st.session_state["start_requested"] = True


@st.cache_data(max_entries=4, show_spinner=False)  # the spinner's words are the reader's: see the caller
def distorted_samples(seed: int) -> np.ndarray:
    """A few training digits (as the network gets them) and four random distortions of each."""
    from model.net.augment import distorted_examples

    raw = raw_mnist()
    first_of_each = [int(np.argmax(raw.y_train == digit)) for digit in PREVIEW_DIGITS]
    digits = mnist_as_trained(raw.x_train[first_of_each]).reshape(-1, 28, 28)
    return np.concatenate([digits[:, None], distorted_examples(digits, PREVIEW_COPIES, seed)], axis=1)


def augmentation_preview() -> None:
    try:
        with st.spinner(_("Distorting a few digits…")):
            samples = distorted_samples(st.session_state.get("preview_seed", 0))
    except MnistError as error:
        st.error(say(error))
        return
    st.image(
        digit_table(samples),
        caption=_("Left: a training digit. Right: random distortions of it; every epoch brings new ones."),
        output_format="PNG",  # JPEG smears 28-pixel digits
    )
    if st.button(_("New samples"), icon=":material/refresh:", key="new_samples", type="tertiary"):
        st.session_state["preview_seed"] = st.session_state.get("preview_seed", 0) + 1
        st.rerun()


def estimate_text(config: TrainingConfig) -> str:
    """'Training will take about 40 s on this machine', from its own past trainings."""
    settings = read_settings()
    images = round(TRAIN_IMAGES * (1 - config.validation_fraction))
    images = min(images, settings.max_train) if settings.max_train else images
    history = [info.metadata for info in model_store().list() if not info.builtin]
    seconds, measured = training_seconds(config, images, history)
    if measured:
        return _("Training will take {duration} (estimated from this machine's last trainings).").format(
            duration=say(duration(seconds))
        )
    return _("Training will take {duration} (estimated from the reference network's speed on a 2-core CPU).").format(
        duration=say(duration(seconds))
    )


def start_training(config: TrainingConfig, name: str) -> TrainingJob | None:
    """Check the name and the folder now, so nothing is trained that cannot be saved; one job each at a time."""
    store = model_store()
    if not one_job_each(training_queue(), class_owner() or job_owner()):
        return None
    try:
        name = store.name_for(config, name)
        store.check_writable()
        class_run = start_class_run(config)  # in a class: refused outside its limits, whatever the URL said
    except LabError as error:
        st.error(say(Message(N_("Not started: {error}."), error=error)))
        return None
    work = TrainingWork(config, name, store) if class_run is None else class_run.work(config, name)
    job = TrainingJob(
        work, training_queue(), owner=job_owner() if class_run is None else class_run.owner,
        on_update=None if class_run is None else class_run.follower(), owner_present=session_connected(),
        workers=training_workers(),
    )  # fmt: skip
    if class_run is not None:
        class_run.follow(job)
    return job.start()


def training_settings_ui(busy: bool) -> tuple[TrainingConfig, str | None]:
    """Every setting, the model's name, Train and a link to these settings; the configuration, and the name to
    train it under once Train is pressed (or a lesson asked for it), else None."""
    limits = class_limits()
    if limits is not None:
        limits_ui(limits)
    config = settings_ui(advanced=ADVANCED, limits=limits)
    if config.augment:
        augmentation_preview()
    if config.optimizer == "sgd" and config.learning_rate < 0.01:
        st.caption(_("Plain gradient descent learns slowly at small rates: try 0.03-0.3."))
    name = st.text_input(
        _("Model name"),
        placeholder=_("{name} (automatic)").format(name=config.short_name),
        max_chars=64,
        key="model_name",
    )
    pressed = st.button(
        _("Train"), type="primary", icon=":material/play_arrow:", disabled=busy, width="stretch", key="train"
    )
    st.caption(estimate_text(config))
    with st.popover(_("Copy link"), icon=":material/link:", width="stretch"):
        link_ui()
    start = (pressed or st.session_state.pop("start_requested", False)) and not busy
    return config, name if start else None


def results_ui(config: TrainingConfig, outcome: TrainingOutcome) -> None:
    """How training ended, its scores, the confusion matrix and the most confident mistakes."""
    if config.activation != "relu":
        st.button(
            _("Train the same network with ReLU"),
            icon=":material/science:",
            on_click=request_training,
            kwargs={**config.to_dict(), "activation": "relu"},
            help=_("Same layers, units, optimizer and seed; only the activation changes. Compare the gradient lines."),
            key="train_with_relu",
        )
    said = Message(
        N_("{message} Saved as **{name}**, now your model."), message=outcome.message, name=outcome.model_name
    )
    (st.warning if outcome.stopped else st.success)(say(said))
    a, b, c = st.columns(3)
    a.metric(_("Test accuracy"), accuracy(outcome.test_accuracy), border=True)
    b.metric(_("Training time"), f"{number(outcome.seconds, 1)} s", border=True)
    c.metric(_("Epochs completed"), outcome.epochs_completed, border=True)
    matrix_col, gallery_col = st.columns(2)
    with matrix_col:
        st.markdown(_("**Confusion matrix** (test set)"))
        st.altair_chart(confusion_heatmap(outcome.confusion), width="stretch")
    with gallery_col:
        wrong = int(outcome.confusion.sum() - outcome.confusion.trace())
        st.markdown(
            _("**Misclassified test digits** ({count} in all; the most confident mistakes first)").format(count=wrong)
        )
        if outcome.mistakes:
            mistake = _("true {true} → {predicted} ({confidence})")
            st.image(
                [thumbnail(m.image) for m in outcome.mistakes],
                caption=[
                    mistake.format(true=m.true_digit, predicted=m.predicted_digit, confidence=percent(m.confidence, 0))
                    for m in outcome.mistakes
                ],
                width=84,
            )
        else:
            st.write(_("None: every test digit was classified correctly."))


settings, stage = st.columns([1, 2], gap="large")
with settings:
    config, start_as = training_settings_ui(busy)
    if start_as is not None and (started := start_training(config, start_as)) is not None:
        job = st.session_state["training_job"] = started
        busy = True

with stage:
    network = _("Network: {architecture} — {parameters} parameters").format(
        architecture=config.architecture, parameters=number(config.parameter_count)
    )
    with st.expander(network, expanded=not busy):
        st.graphviz_chart(network_dot(config), width="content")
    if job is None:
        st.info(_("Choose the layers, units and epochs, then press **Train**: the loss curves appear here, live."))
    else:
        st.subheader(_("Live training curves"))
        trained = job.work.config
        caption = Message(
            N_("{name} · {architecture} · {parameters} parameters"),
            name=job.work.name, architecture=trained.architecture, parameters=num(trained.parameter_count),
        )  # fmt: skip
        st.caption(say(caption))
    outcome = job_progress_ui(job, details=live_curves)

if job is not None and outcome is not None:
    if st.session_state.get("training_used") is not job:  # once, so a model chosen later stays chosen
        st.session_state["training_used"] = job
        use_model(outcome.model_name)
    results_ui(job.work.config, outcome)
