"""The class board: every run of a class, live, with a leaderboard for the challenge and the runs' curves."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from model.classroom.classes import Run
from model.classroom.db import ClassroomError
from model.classroom.limits import Limits
from model.jobs.estimate import duration, training_seconds
from model.net.config import TrainingConfig
from ui.charts import history_overlay
from ui.classroom import STATUS_WORDS, Membership, class_jobs, classroom, training_images
from ui.language import _, say
from ui.resources import model_store, training_queue
from utils.errors import LabError
from utils.i18n import N_, Message

BOARD_SECONDS = 2.0


def status_text(run: Run) -> str:
    """'queued: number 2, starts in about 40 s', 'training: epoch 2/3', 'finished'."""
    if run.status == "queued":
        job = class_jobs().get(run.id)
        position = job.queue_position if job is not None else None
        wait = training_queue().estimated_start_s(job, job_seconds(job.work.config)) if job is not None else None
        if position is not None and wait is not None:
            return say(Message(N_("queued: number {position}, starts in {wait}"), position=position,
                               wait=duration(wait)))  # fmt: skip
    if run.status == "training" and run.epoch is not None and run.epochs is not None:
        return say(Message(N_("training: epoch {epoch}/{epochs}"), epoch=run.epoch, epochs=run.epochs))
    return _(STATUS_WORDS.get(run.status, run.status))


def job_seconds(config: TrainingConfig) -> float:
    history = [info.metadata for info in model_store().list() if not info.builtin]
    return training_seconds(config, training_images(config), history)[0]


def within(limits: Limits, run: Run) -> bool:
    """Whether ``run`` was trained inside the class's limits as they are now (they may have changed since)."""
    try:
        return not limits.problems(TrainingConfig.from_dict(run.settings))
    except LabError:
        return False


def run_label(run: Run) -> str:
    return f"#{run.id} · {run.student} · {_(STATUS_WORDS.get(run.status, run.status))}"


class Columns:
    """The board's column names, in the reader's language (made per script run)."""

    def __init__(self) -> None:
        self.run, self.student, self.status = _("run"), _("student"), _("status")
        self.network, self.activation, self.optimizer = _("network"), _("activation"), _("optimizer")
        self.epochs, self.digits = _("epochs"), _("training digits")
        self.val, self.test, self.seconds, self.model = (
            _("validation accuracy"), _("test accuracy"), _("time (s)"), _("model"),
        )  # fmt: skip

    def config(self) -> dict[str, Any]:
        percent = st.column_config.NumberColumn(format="percent")
        return {self.val: percent, self.test: percent, self.seconds: st.column_config.NumberColumn(format="%.0f")}


def board_frame(runs: list[Run]) -> pd.DataFrame:
    c = Columns()
    rows = []
    for run in runs:
        settings = run.settings
        rows.append({
            c.run: run.id, c.student: run.student, c.status: status_text(run),
            c.network: f"{settings.get('hidden_layers', '?')} x {settings.get('units', '?')}",
            c.activation: settings.get("activation"), c.optimizer: settings.get("optimizer"),
            c.epochs: settings.get("epochs"), c.digits: settings.get("training_digits"),
            c.val: run.val_accuracy, c.test: run.test_accuracy,
            c.seconds: round(run.seconds) if run.seconds is not None else None, c.model: run.model,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(vars(c).values()))


def leaderboard_frame(runs: list[Run], limits: Limits) -> pd.DataFrame:
    """The challenge: each student's best test accuracy among their runs inside the limits."""
    c = Columns()
    best: dict[str, Run] = {}
    for run in runs:
        if run.test_accuracy is None or not within(limits, run):
            continue
        if run.student not in best or run.test_accuracy > (best[run.student].test_accuracy or 0):
            best[run.student] = run
    ranked = sorted(best.values(), key=lambda run: run.test_accuracy or 0, reverse=True)
    rank = _("rank")
    return pd.DataFrame(
        [{rank: place, c.student: run.student, c.test: run.test_accuracy, c.run: run.id, c.model: run.model}
         for place, run in enumerate(ranked, start=1)],
        columns=[rank, c.student, c.test, c.run, c.model],
    )  # fmt: skip


def board_ui(code: str) -> None:
    """The class board, redrawn every ``BOARD_SECONDS`` while anyone's training is under way."""
    st.fragment(run_every=BOARD_SECONDS)(_board)(code)


def _board(code: str) -> None:
    try:
        info, runs = classroom().get(code), classroom().board(code)
    except ClassroomError as error:
        st.error(say(error))
        return
    st.subheader(_("Class board"))
    if not runs:
        st.info(_("No trainings yet: when students press **Train**, their runs appear here, live."))
        return
    students = sorted({run.student for run in runs})
    chosen = st.multiselect(_("Show students"), students, key="board_students", placeholder=_("Everyone"))
    shown = [run for run in runs if not chosen or run.student in chosen]
    frame = board_frame(shown)
    st.dataframe(frame, hide_index=True, column_config=Columns().config(), key="board_table")
    st.download_button(
        _("Export CSV"), frame.to_csv(index=False).encode("utf-8"), file_name=f"class-{code}.csv", mime="text/csv",
        icon=":material/download:", key="board_csv",
    )  # fmt: skip
    st.subheader(_("Leaderboard"))
    if info.limits.goal:
        st.caption(say(info.limits.goal))
    leaders = leaderboard_frame(shown, info.limits)
    if len(leaders):
        st.dataframe(leaders, hide_index=True, column_config=Columns().config(), key="leaderboard")
    else:
        st.caption(_("No finished run within the limits yet."))
    curves_ui(shown)


def curves_ui(runs: list[Run]) -> None:
    """Chosen runs' curves on one chart (each run's share of training on the x axis, so epochs may differ)."""
    with_curves = {f"{run.student} #{run.id}": run.history for run in runs if run.history.get("loss")}
    if not with_curves:
        return
    st.subheader(_("Curves"))
    names = list(with_curves)
    picked = st.multiselect(_("Compare runs"), names, default=names[:3], key="board_curves")
    if picked:
        histories = {name: with_curves[name] for name in picked}
        loss_col, accuracy_col = st.columns(2)
        loss_col.altair_chart(history_overlay(histories, "loss", fraction=True), width="stretch")
        if all(history.get("accuracy") for history in histories.values()):
            accuracy_col.altair_chart(history_overlay(histories, "accuracy", fraction=True), width="stretch")


def remove_run_ui(member: Membership) -> None:
    """Remove a run: the teacher any, a student their own (the class's rules decide, not this list)."""
    try:
        runs = classroom().board(member.code)
    except ClassroomError as error:
        st.error(say(error))
        return
    if not runs:
        return
    with st.form("remove_run", border=False):
        by_id = {run.id: run for run in runs}
        mine = sorted(by_id, key=lambda run_id: by_id[run_id].student != member.student)
        run_id = st.selectbox(_("Run"), mine, format_func=lambda run_id: run_label(by_id[run_id]), key="run_to_remove")
        if st.form_submit_button(_("Remove run"), icon=":material/delete:"):
            try:
                classroom().remove_run(member.code, run_id, key=member.teacher_key, student=member.student)
            except ClassroomError as error:
                st.error(say(error))
            else:
                st.toast(_("Run removed."))
