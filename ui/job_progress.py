"""How a background job goes, on the page that started it: progress, place in the queue, Stop, why it failed.

One view for every job (a training on Train, a teaching on Your drawings, and later ones):
a fragment redrawn every ``POLL_SECONDS`` while the job runs, the worker never waiting for it.
When the job ends the whole page runs again, so what depends on its outcome appears.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from model.jobs.engine import Job, JobQueue, JobState, Outcome
from model.jobs.estimate import duration, typical_job_seconds
from model.jobs.progress import ProgressSnapshot
from model.net.events import BatchEvent
from ui.language import _, say
from ui.resources import model_store
from utils.i18n import N_

POLL_SECONDS = 0.75  # "redrawn at least once a second", without starving the server

STATE_WORDS = {  # what the progress bar calls each state
    JobState.QUEUED: N_("queued"),
    JobState.STARTING: N_("starting the training process"),
    JobState.LOADING: N_("loading data"),
    JobState.RUNNING: N_("training"),
    JobState.SAVING: N_("scoring and saving"),
    JobState.FINISHED: N_("finished"),
    JobState.STOPPED: N_("stopped"),
    JobState.CANCELLED: N_("cancelled"),
    JobState.FAILED: N_("failed"),
}

Describe = Callable[[BatchEvent, str], str]  # the latest batch and the state's words -> the progress bar's text
Details = Callable[[Job[Any, Any], ProgressSnapshot], None]  # more to draw inside the fragment (live curves)


def epoch_and_batch(latest: BatchEvent, state: str) -> str:
    """'Epoch 3/10 · batch 120/422 · training'."""
    return _("Epoch {epoch}/{epochs} · batch {batch}/{batches} · {state}").format(
        epoch=latest.epoch + 1, epochs=latest.epochs, batch=latest.batch + 1, batches=latest.batches_per_epoch,
        state=state,
    )  # fmt: skip


@st.cache_data(ttl=60, show_spinner=False)
def _seconds_per_job(models_dir: str) -> float:
    """Read from the models' metadata at most once a minute, however many people wait."""
    return typical_job_seconds(info.metadata for info in model_store().list() if not info.builtin)


def progress_text(job: Job[Any, Any], latest: BatchEvent | None, describe: Describe = epoch_and_batch) -> str:
    if job.state is JobState.QUEUED:
        start = job.queue.estimated_start_s(job, _seconds_per_job(str(model_store().root)))
        return _(
            "Waiting for a free training slot: you are number {position} in the queue; your turn in {duration}."
        ).format(position=job.queue_position or 1, duration=say(duration(start or 0.0)))
    state = _(STATE_WORDS[job.state])
    if latest is not None:
        return describe(latest, state)
    return f"{state[:1].upper()}{state[1:]}" + ("…" if job.state.active else "")  # "Loading data…", "Finished"


def one_job_each(queue: JobQueue, owner: str) -> bool:
    """Whether ``owner`` may start a job now; if not, says why (one job each, so that everyone gets a turn)."""
    if not queue.busy(owner):
        return True
    st.warning(
        _("You already have a training running or waiting: one at a time each, so that everyone gets a turn."),
        icon=":material/hourglass_top:",
    )
    return False


def job_progress_ui(
    job: Job[Any, Outcome] | None,
    key: str = "stop",
    describe: Describe = epoch_and_batch,
    details: Details | None = None,
) -> Outcome | None:
    """``job`` as it goes (polled while it runs); its outcome once it is over, else None.

    ``key`` is the Stop button's (and names the page's polling flag); ``details`` draws more
    inside the fragment, below the Stop button. A failure or a cancellation is said here.
    """
    if job is None:
        return None
    st.fragment(run_every=POLL_SECONDS if job.state.active else None)(_live_view)(job, key, describe, details)
    if job.state is JobState.FAILED:
        st.error(say(job.error))
    elif job.state is JobState.CANCELLED:
        st.info(_("Training was cancelled before it started."))
    return None if job.state.active else job.outcome


def _live_view(job: Job[Any, Any], key: str, describe: Describe, details: Details | None) -> None:
    snapshot = job.progress.snapshot()
    fraction = 1.0 if job.state is JobState.FINISHED else snapshot.fraction
    st.progress(fraction, text=progress_text(job, snapshot.latest, describe))
    if job.state.active:
        label = _("Cancel") if job.state is JobState.QUEUED else _("Stop")
        if st.button(label, icon=":material/stop:", disabled=job.stop_requested, key=key):
            job.stop()
            st.toast(_("Stopping after the current batch…"))
    if details is not None:
        details(job, snapshot)
    polling = f"{key}_polling"
    if st.session_state.get(polling) and not job.state.active:
        st.session_state[polling] = False
        st.rerun(scope="app")  # show the outcome and stop polling
    st.session_state[polling] = job.state.active
