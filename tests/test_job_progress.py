"""The one progress view every page's job uses: its place in the queue, Stop, its outcome, why it failed."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest


def page(count_fails: str, slot_taken: bool) -> None:
    """A page with one job of tests.test_jobs' Count work (no TensorFlow), shown by ``job_progress_ui``."""
    import threading

    import streamlit as st

    from model.jobs.engine import Job, JobQueue
    from tests.test_jobs import Count
    from ui.job_progress import job_progress_ui

    if "job" not in st.session_state:
        queue = JobQueue(1)
        if slot_taken:  # someone else's job holds the only slot
            queue.acquire("another", threading.Event())
        st.session_state["job"] = Job(Count(batches=2, fails=count_fails), queue).start()
    outcome = job_progress_ui(st.session_state["job"])
    if outcome is not None:
        st.write(f"counted {outcome.batches}")


def _until_over(app: AppTest) -> AppTest:
    deadline = time.monotonic() + 60
    while app.session_state["job"].state.active and time.monotonic() < deadline:
        time.sleep(0.2)
    return app.run()


def test_a_finished_job_hands_its_outcome_to_the_page():
    app = _until_over(AppTest.from_function(page, args=("", False), default_timeout=30).run())
    assert not app.exception
    assert [m.value for m in app.markdown] == ["counted 2"] and not app.error
    assert app.get("progress")[0].proto.value == 100


@pytest.mark.parametrize("lang", ["en", "pt"])
def test_a_failed_job_says_why_in_the_readers_language(lang):
    app = AppTest.from_function(page, args=("refused", False), default_timeout=30)
    app.session_state["lang"] = lang
    app = _until_over(app.run())
    said = {"en": "Not saved: disk full.", "pt": "Não salvo: disk full."}[lang]
    assert [e.value for e in app.error] == [said] and not app.markdown


def test_a_waiting_job_shows_its_place_and_can_be_cancelled():
    app = AppTest.from_function(page, args=("", True), default_timeout=30).run()
    assert "you are number 1 in the queue" in app.get("progress")[0].proto.text
    cancel = app.button(key="stop")
    assert cancel.label == "Cancel"
    cancel.click().run()
    app = _until_over(app)
    assert [i.value for i in app.info] == ["Training was cancelled before it started."]


def test_a_job_that_is_over_is_not_written_as_going_on():
    """'Finished', not 'Finished…': the ellipsis says something is still under way."""
    from model.jobs.engine import Job, JobQueue, JobState
    from tests.test_jobs import Count
    from ui.job_progress import progress_text

    job = Job(Count(), JobQueue(1))
    job.state = JobState.LOADING
    assert progress_text(job, None) == "Loading data…"
    for state, words in ((JobState.FINISHED, "Finished"), (JobState.STOPPED, "Stopped"), (JobState.FAILED, "Failed")):
        job.state = state
        assert progress_text(job, None) == words
