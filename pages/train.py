"""Train: choose a network, train it in the background, watch the curves live."""

from datetime import datetime

import numpy as np
import streamlit as st

from model.config import ACTIVATIONS, OPTIMIZER_LABELS, SCHEDULE_LABELS, SCHEDULES, TrainingConfig
from model.diagram import network_dot
from model.jobs import JobState, TrainingJob
from utils.charts import confusion_heatmap, training_curves
from utils.preprocess import mnist_as_trained
from utils.resources import model_store, raw_mnist
from utils.shell import ensure_app_navigation, session_connected
from utils.visual import digit_table, thumbnail

ensure_app_navigation()

POLL_SECONDS = 0.75  # "redrawn at least once a second", without starving the server
UNIT_CHOICES = [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
BATCH_CHOICES = [8, 16, 32, 64, 128, 256, 512, 1024]
RATE_CHOICES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
PREVIEW_DIGITS = (2, 4, 7, 8)
PREVIEW_COPIES = 4
KEEP = {"persist_state": "session"}  # settings survive a visit to another page

st.title("Train a network")
job: TrainingJob | None = st.session_state.get("training_job")
busy = job is not None and job.state.active


def progress_text(job: TrainingJob) -> str:
    latest = job.progress.snapshot().latest
    if job.state is JobState.QUEUED:
        return f"Waiting for a free training slot: you are number {job.queue_position or 1} in the queue."
    if latest is None:
        return f"{job.state.value.capitalize()}…"
    return (
        f"Epoch {latest.epoch + 1}/{latest.epochs} · batch {latest.batch + 1}/{latest.batches_per_epoch}"
        f" · {job.state.value}"
    )


def live_view() -> None:
    """Redrawn every POLL_SECONDS while training; the training process never waits for it."""
    job: TrainingJob | None = st.session_state.get("training_job")
    if job is None:
        return
    snapshot = job.progress.snapshot()
    st.subheader("Live training curves")
    st.caption(f"{job.name} · {job.config.architecture} · {job.config.parameter_count:,} parameters")
    st.progress(snapshot.fraction, text=progress_text(job))
    if job.state.active:
        label = "Cancel" if job.state is JobState.QUEUED else "Stop"
        if st.button(label, icon=":material/stop:", disabled=job.stop_requested, key="stop"):
            job.stop()
            st.toast("Stopping after the current batch…")
    batches, epochs = snapshot.batch_curve(), snapshot.epoch_curve()
    if len(batches):
        loss_col, accuracy_col = st.columns(2)
        loss_col.altair_chart(training_curves(batches, epochs, "loss"), width="stretch")
        accuracy_col.altair_chart(training_curves(batches, epochs, "accuracy"), width="stretch")
    if st.session_state.get("polling") and not job.state.active:
        st.session_state["polling"] = False
        st.rerun(scope="app")  # show the results and stop polling
    st.session_state["polling"] = job.state.active


@st.cache_data(max_entries=4, show_spinner="Distorting a few digits…")
def distorted_samples(seed: int) -> np.ndarray:
    """A few training digits (as the network gets them) and four random distortions of each."""
    from model.augment import distorted_examples

    raw = raw_mnist()
    first_of_each = [int(np.argmax(raw.y_train == digit)) for digit in PREVIEW_DIGITS]
    digits = mnist_as_trained(raw.x_train[first_of_each]).reshape(-1, 28, 28)
    return np.concatenate([digits[:, None], distorted_examples(digits, PREVIEW_COPIES, seed)], axis=1)


def augmentation_preview() -> None:
    samples = distorted_samples(st.session_state.get("preview_seed", 0))
    st.image(
        digit_table(samples),
        caption="Left: a training digit. Right: random distortions of it; every epoch brings new ones.",
        output_format="PNG",  # JPEG smears 28-pixel digits
    )
    if st.button("New samples", icon=":material/refresh:", key="new_samples", type="tertiary"):
        st.session_state["preview_seed"] = st.session_state.get("preview_seed", 0) + 1
        st.rerun()


settings, stage = st.columns([1, 2], gap="large")
with settings:
    layers = st.slider("Hidden layers", 1, 8, 2, key="hidden_layers", **KEEP)
    units = st.select_slider("Units per layer", UNIT_CHOICES, 512, key="units", **KEEP)
    epochs = st.slider("Epochs", 1, 100, 10, key="epochs", **KEEP)
    augment = st.toggle(
        "Augment training data",
        False,
        key="augment",
        help="Every epoch, each training digit is randomly rotated, scaled, slanted, shifted, warped and "
        "drawn thicker or thinner, so the network learns digits as people draw them, not only MNIST's. "
        "Needs more epochs (try 30); costs little time per epoch.",
        **KEEP,
    )
    if augment:
        augmentation_preview()
    with st.expander("More settings", expanded=False):
        batch_size = st.select_slider("Batch size", BATCH_CHOICES, 128, key="batch_size", **KEEP)
        learning_rate = st.select_slider("Learning rate", RATE_CHOICES, 0.001, key="learning_rate", **KEEP)
        optimizer = st.selectbox(
            "Optimizer", list(OPTIMIZER_LABELS), index=3, format_func=OPTIMIZER_LABELS.get, key="optimizer", **KEEP
        )
        if optimizer == "sgd" and learning_rate < 0.01:
            st.caption("Plain gradient descent learns slowly at small rates: try 0.03-0.3.")
        schedule = st.radio(
            "Learning-rate schedule", SCHEDULES, format_func=SCHEDULE_LABELS.get, horizontal=True, key="schedule",
            help="Cosine decay lowers the rate smoothly to zero by the last batch: big steps first, fine ones at "
            "the end. It usually adds a few tenths of a percent.", **KEEP,
        )  # fmt: skip
        activation = st.radio(
            "Activation", ACTIVATIONS, format_func=lambda a: {"relu": "ReLU"}.get(a, a), horizontal=True,
            key="activation", **KEEP,
        )  # fmt: skip
        dropout = st.slider("Dropout", 0.0, 0.9, 0.2, 0.05, key="dropout", **KEEP)
        validation = st.slider("Validation fraction", 0.05, 0.3, 0.1, 0.05, key="validation", **KEEP)
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="seed", **KEEP)
    config = TrainingConfig(
        hidden_layers=layers, units=units, activation=activation, dropout=dropout, optimizer=optimizer,
        learning_rate=learning_rate, schedule=schedule, batch_size=batch_size, epochs=epochs,
        validation_fraction=validation, seed=int(seed), augment=augment,
    )  # fmt: skip
    name = st.text_input("Model name", placeholder=f"mlp-{config.architecture}", max_chars=64, key="model_name")
    if st.button("Train", type="primary", icon=":material/play_arrow:", disabled=busy, width="stretch"):
        base = name.strip() or f"mlp-{config.architecture}-{datetime.now():%Y%m%d-%H%M%S}"
        try:
            job = TrainingJob(config, base, model_store(), owner_present=session_connected()).start()
        except ValueError as error:  # e.g. a name with no usable characters
            st.error(str(error))
        else:
            st.session_state["training_job"] = job
            busy = True

with stage:
    with st.expander(f"Network: {config.architecture} — {config.parameter_count:,} parameters", expanded=not busy):
        st.graphviz_chart(network_dot(config), width="stretch")
    if job is None:
        st.info("Choose the layers, units and epochs, then press **Train**: the loss curves appear here, live.")
    st.fragment(run_every=POLL_SECONDS if busy else None)(live_view)()

if job is not None and not job.state.active:
    if job.state is JobState.FAILED:
        st.error(job.error or "Training failed.")
    elif job.state is JobState.CANCELLED:
        st.info("Training was cancelled before it started.")
    elif job.outcome is not None:
        outcome = job.outcome
        saved = f"Saved as **{outcome.model_name}**, now the active model."
        (st.warning if job.state is JobState.STOPPED else st.success)(f"{outcome.message} {saved}")
        a, b, c = st.columns(3)
        a.metric("Test accuracy", f"{outcome.test_accuracy:.2%}", border=True)
        b.metric("Training time", f"{outcome.seconds:.1f} s", border=True)
        c.metric("Epochs completed", outcome.epochs_completed, border=True)
        matrix_col, gallery_col = st.columns(2)
        with matrix_col:
            st.markdown("**Confusion matrix** (test set)")
            st.altair_chart(confusion_heatmap(outcome.confusion), width="stretch")
        with gallery_col:
            wrong = int(outcome.confusion.sum() - outcome.confusion.trace())
            st.markdown(f"**Misclassified test digits** ({wrong} in all; the most confident mistakes first)")
            if outcome.mistakes:
                st.image(
                    [thumbnail(m.image) for m in outcome.mistakes],
                    caption=[
                        f"true {m.true_digit} → {m.predicted_digit} ({m.confidence:.0%})" for m in outcome.mistakes
                    ],
                    width=84,
                )
            else:
                st.write("None: every test digit was classified correctly.")
