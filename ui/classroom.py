"""A class on one server, as a browser session sees it: its membership, and its class's runs on the Train page.

The rules (codes, names, limits, who may remove what) are ``model.classroom``'s; this module keeps
who this session is in a class (``st.session_state``, and the URL for a reload), creating and
joining, and what a class changes on the Train page. The board is ``ui.class_board``, the teacher's
controls ``ui.class_teacher``. The teacher key lives only in the session: it is taken out of the
address bar at once, so a board shown on a projector does not show it.
"""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from model.classroom.classes import Classroom, check_allowed
from model.classroom.db import ClassroomError, Database, database_path
from model.classroom.limits import Limits
from model.jobs.engine import Job, JobState
from model.jobs.work import TrainingWork
from model.net.config import TrainingConfig
from model.net.data import app_training_data
from ui.language import _, say
from ui.resources import model_store
from utils.errors import LabError
from utils.i18n import N_, Message
from utils.settings import TRAIN_IMAGES, read_settings

CODE, STUDENT, SEAT, TEACHER = "class_code", "class_student", "class_seat", "class_teacher_key"
PINNED = "class_pinned_model"  # read by ui.workspace.session_model
CLASS_PAGE = "pages/class.py"

STATUS_WORDS = {  # a run's status on the board
    "queued": N_("queued"),
    "training": N_("training"),
    "finished": N_("finished"),
    "stopped": N_("stopped"),
    "failed": N_("failed"),
}
RUN_STATUS = {  # a job's state as a run's status
    JobState.QUEUED: "queued",
    JobState.STARTING: "training",
    JobState.LOADING: "training",
    JobState.RUNNING: "training",
    JobState.SAVING: "training",
    JobState.FINISHED: "finished",
    JobState.STOPPED: "stopped",
    JobState.CANCELLED: "stopped",
    JobState.FAILED: "failed",
}


@st.cache_resource(show_spinner=False)
def _classroom(path: str) -> Classroom:
    from pathlib import Path

    return Classroom(Database(Path(path)))


def classroom() -> Classroom:
    """The server's classes, in the database beside its models folder."""
    return _classroom(str(database_path(read_settings().models_dir)))


@st.cache_resource(show_spinner=False)
def class_jobs() -> dict[int, Job[Any, Any]]:
    """Run id -> its job, for the board's queue positions (the job itself lives in its student's session)."""
    return {}


# -- who this session is --------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    code: str
    student: str | None  # None until a display name is given (a teacher may have none)
    teacher_key: str | None  # checked when the teacher link was opened, and again on every teacher action

    @property
    def owner(self) -> str:
        """Who a training belongs to, for the fair queue."""
        return f"{self.code}/{self.student}"


def membership() -> Membership | None:
    code = st.session_state.get(CODE)
    if code is None:
        return None
    return Membership(code, st.session_state.get(STUDENT), st.session_state.get(TEACHER))


def seat() -> str:
    """This browser's seat in its class: a random token that lets a reloaded tab take its own name back."""
    if SEAT not in st.session_state:
        st.session_state[SEAT] = st.query_params.get("seat") or secrets.token_urlsafe(9)
    return str(st.session_state[SEAT])


def enter(code: str) -> str:
    """Make this session a (nameless) member of class ``code``; ClassroomError if there is none."""
    info = classroom().get(code)
    if st.session_state.get(CODE) != info.code:
        for key in (STUDENT, TEACHER, PINNED):  # nothing of another class carries over
            st.session_state.pop(key, None)
        st.session_state[CODE] = info.code
    return info.code


def leave() -> None:
    for key in (CODE, STUDENT, TEACHER, PINNED):
        st.session_state.pop(key, None)
    for param in ("class", "student", "seat"):
        st.query_params.pop(param, None)


def join(code: str, student: str) -> None:
    """Take ``student`` as this session's name in class ``code``; ClassroomError if it is taken or not a name."""
    code = enter(code)
    st.session_state[STUDENT] = classroom().join(code, student, seat())


def become_teacher(code: str, key: str) -> None:
    """ClassroomError (and no teacher rights) for a wrong key."""
    code = enter(code)
    classroom().check_teacher(code, key)
    st.session_state[TEACHER] = key


def _follow_url() -> None:
    """``?class=CODE`` (any page), the teacher link's ``teacher=KEY``, a reloaded student's ``student`` and ``seat``."""
    code = st.query_params.get("class")
    if code and code.strip().upper() != st.session_state.get(CODE):
        enter(code)
    key = st.query_params.get("teacher")
    if key is not None:
        del st.query_params["teacher"]  # never left in the address bar
        if CODE in st.session_state:
            try:
                become_teacher(st.session_state[CODE], key)
            except ClassroomError as error:
                st.error(say(error), icon=":material/lock:")
    name = st.query_params.get("student")
    if name and CODE in st.session_state and STUDENT not in st.session_state and "seat" in st.query_params:
        try:
            join(st.session_state[CODE], name)
        except ClassroomError:  # another browser has the name now: ask again
            st.query_params.pop("student", None)


def _keep_in_url(member: Membership) -> None:
    st.query_params["class"] = member.code
    if member.student is not None:
        st.query_params["student"] = member.student
        st.query_params["seat"] = seat()


def class_session_ui() -> None:
    """Every page: follow the URL into the session, keep the class in the URL, name the class in the sidebar,
    and give the session the class's pinned model."""
    try:
        _follow_url()
        member = membership()
        if member is None:
            return
        info = classroom().get(member.code)
    except ClassroomError as error:
        st.sidebar.error(say(error))
        return
    _keep_in_url(member)
    st.session_state[PINNED] = info.pinned_model
    with st.sidebar:
        if member.student is not None:
            st.markdown(say(Message(N_("Class **{code}** · {name}"), code=member.code, name=member.student)))
        elif member.teacher_key is not None:
            st.markdown(say(Message(N_("Class **{code}** · teacher"), code=member.code)))
        else:
            st.markdown(say(Message(N_("Class **{code}**"), code=member.code)))
            st.page_link(CLASS_PAGE, label=_("Give your name to join"), icon=":material/login:")
        if info.ended:
            st.caption(_("This class has ended."))


# -- the Train page ---------------------------------------------------------------------------


def class_limits() -> Limits | None:
    """The limits a student of this session's class trains under; None outside a class (or for its teacher)."""
    member = membership()
    if member is None or member.student is None:
        return None
    try:
        return classroom().get(member.code).limits
    except ClassroomError:
        return None


def limits_ui(limits: Limits) -> None:
    """The class's goal and limits, above the Train page's settings."""
    lines = limits.describe()
    if lines:
        with st.container(border=True):
            st.markdown(_("**Your class's challenge**"))
            st.markdown("\n".join(f"- {say(line)}" for line in lines))


@dataclass(frozen=True)
class ClassRun:
    """A class member's training: its run on the board, whose it is, and the training digits the class allows."""

    code: str
    student: str
    run_id: int
    max_train: int | None

    @property
    def owner(self) -> str:
        return f"{self.code}/{self.student}"

    def work(self, config: TrainingConfig, name: str) -> TrainingWork:
        return TrainingWork(config, name, model_store(), functools.partial(app_training_data, max_train=self.max_train))

    def follower(self) -> RunFollower:
        """The job's ``on_update``: keeps the board's row in step with it."""
        return RunFollower(classroom(), self)

    def follow(self, job: Job[Any, Any]) -> None:
        class_jobs()[self.run_id] = job


def class_owner() -> str | None:
    """Who this session's jobs belong to in its class ("CODE/student"); None outside a class."""
    member = membership()
    return member.owner if member is not None and member.student is not None else None


def start_class_run(config: TrainingConfig) -> ClassRun | None:
    """A row on the class board for this training; None outside a class. ClassroomError if the class's limits
    refuse ``config`` (whatever the page's widgets or the URL said) or the class has ended."""
    member = membership()
    if member is None or member.student is None:
        return None
    room = classroom()
    check_allowed(room, member.code, config)
    max_train = room.get(member.code).limits.train_slice(read_settings().max_train)
    settings = config.to_dict() | {"training_digits": training_images(config, max_train)}
    run_id = room.start_run(member.code, member.student, settings)
    return ClassRun(member.code, member.student, run_id, max_train)


def training_images(config: TrainingConfig, max_train: int | None = None) -> int:
    """How many digits a training of ``config`` learns from on this server (in a class: at most ``max_train``)."""
    images = round(TRAIN_IMAGES * (1 - config.validation_fraction))
    limit = max_train or read_settings().max_train
    return min(images, limit) if limit else images


class RunFollower:
    """Keeps a class run's row in step with its job (called in the server's thread, even with the tab closed)."""

    def __init__(self, room: Classroom, run: ClassRun) -> None:
        self.room, self.run = room, run
        self.written: tuple[object, ...] = ()
        self.started: float | None = None

    def __call__(self, job: Job[Any, Any]) -> None:
        status = RUN_STATUS[job.state]
        snapshot = job.progress.snapshot()
        epochs, done = job.work.config.epochs, len(snapshot.epochs)
        epoch = min(done + 1, epochs) if status == "training" else done  # the one under way, or those completed
        if (status, epoch) == self.written:
            return  # nothing the board shows has changed
        self.written = (status, epoch)
        if status == "training" and self.started is None:
            self.started = time.monotonic()
        curve = snapshot.epoch_curve()
        fields: dict[str, object] = {
            "status": status,
            "epoch": epoch,
            "epochs": epochs,
            "history": {column: [float(v) for v in curve[column].dropna()] for column in curve if column != "epoch"},
        }
        if len(curve) and pd.notna(curve["val_accuracy"].iloc[-1]):
            fields["val_accuracy"] = float(curve["val_accuracy"].iloc[-1])
        if self.started is not None:
            fields["seconds"] = time.monotonic() - self.started
        outcome = job.outcome
        if outcome is not None:
            fields |= {"model": outcome.model_name, "test_accuracy": outcome.test_accuracy, "seconds": outcome.seconds}
        self.room.update_run(self.run.run_id, **fields)
        if outcome is not None:
            self.room.claim(self.run.code, self.run.student, "model", outcome.model_name)
        if not job.state.active:
            class_jobs().pop(self.run.run_id, None)


def why_not_removable(kind: str, name: str) -> Message | None:
    """Why this session may not delete ``name`` (a model or a set made in a class by someone else); None if it may.

    What was made in a class belongs to its maker: only they, in that class, or its teacher remove it.
    Outside any class (no class database yet) nothing changes.
    """
    if not database_path(read_settings().models_dir).exists():
        return None
    try:
        made_by = classroom().owner(kind, name)
        if made_by is None:
            return None
        code, student = made_by
        member = membership()
        if member is not None and member.code == code:
            if member.student == student:
                return None
            if member.teacher_key is not None:
                classroom().check_teacher(code, member.teacher_key)
                return None
    except ClassroomError as error:
        return error.message
    return Message(N_("{name} was made by {student} in a class: only they or their teacher can delete it."),
                   name=name, student=student)  # fmt: skip


def claim_for_session(kind: str, name: str) -> None:
    """What a class member saves (a model, a set of drawings) belongs to them."""
    member = membership()
    if member is not None and member.student is not None:
        classroom().claim(member.code, member.student, kind, name)


# -- creating and joining --------------------------------------------------------------------------


def app_root() -> str:
    """This server's address as the browser sees it ('http://host:8501'), from the Class page's own URL."""
    url = (st.context.url or "").split("?", 1)[0]
    return url.rsplit("/", 1)[0] if url else ""


def class_link(root: str, code: str, teacher_key: str | None = None) -> str:
    """The Class page of class ``code``: the students' link, or with the key the teacher's."""
    link = f"{root}/class?class={code}"
    return link if teacher_key is None else f"{link}&teacher={teacher_key}"


def create_ui() -> None:
    with st.form("create_class"):
        st.markdown(_("**Teachers:** create a class, then share its code."))
        name = st.text_input(_("Class name"), max_chars=80, placeholder=_("8th grade, Tuesday"), key="new_class")
        if not st.form_submit_button(_("Create a class"), type="primary", icon=":material/add:"):
            return
    try:
        info, key = classroom().create(name)
        become_teacher(info.code, key)
    except LabError as error:
        st.error(say(error))
    else:
        st.rerun()


def join_ui(code: str | None) -> None:
    """A display name (and the code, unless the link gave it)."""
    with st.form("join_class"):
        st.markdown(_("**Students:** join with the code your teacher gives you."))
        typed = code or st.text_input(_("Class code"), max_chars=12, placeholder="ABC234", key="join_code")
        name = st.text_input(_("Your name"), max_chars=40, help=_("Shown on the class board; unique in the class."),
                             key="join_name")  # fmt: skip
        if not st.form_submit_button(_("Join"), type="primary", icon=":material/login:"):
            return
    try:
        join(typed, name)
    except LabError as error:
        st.error(say(error))
    else:
        st.rerun()


def links_ui(member: Membership) -> None:
    """The join code, large enough to read aloud, and the two links."""
    assert member.teacher_key is not None
    root = app_root()
    code_col, links_col = st.columns([1, 2])
    code_col.metric(_("Join code"), member.code, border=True)
    with links_col:
        st.caption(_("Students' link"))
        st.code(class_link(root, member.code), language=None, wrap_lines=True)
        with st.expander(_("Teacher link"), icon=":material/key:"):
            st.code(class_link(root, member.code, member.teacher_key), language=None, wrap_lines=True)
            st.warning(_("Keep this link private: whoever opens it can change the class's limits, remove runs and "
                         "end the class. Open it again to return as the teacher."))  # fmt: skip
