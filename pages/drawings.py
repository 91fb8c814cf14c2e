"""Your drawings: the digits you corrected or confirmed on Draw, and teaching the network your handwriting.

Never imports TensorFlow itself: teaching runs in a worker process.
"""

import streamlit as st

from model.jobs.work import TeachingJob, TeachingWork, TeachOutcome
from model.net.events import BatchEvent
from model.storage.store import ModelInfo
from ui.charts import before_after_bars
from ui.classroom import claim_for_session, class_owner
from ui.drawings import keep_all, my_drawings
from ui.job_progress import job_progress_ui, one_job_each
from ui.language import _, ngettext, number, say
from ui.resources import model_store, training_queue, training_workers
from ui.shell import ensure_app_navigation, session_connected
from ui.visual import thumbnail
from ui.workspace import job_owner, session_model, use_model
from utils.drawings import MAX_ZIP_BYTES, count_by_digit, drawings_from_zip, drawings_to_zip
from utils.errors import LabError
from utils.i18n import N_, Message
from utils.preprocess import PREPROCESSING_VERSION as PREPROCESSING
from utils.settings import read_settings

ensure_app_navigation()

MIN_TO_TEACH = 5  # fewer drawings than this teach nothing measurable
SUGGESTED = 3  # drawings of each digit the network gets wrong
TAUGHT_SUFFIX = "+mine"  # a taught copy's default name: the parent's plus this (names are not translated)
GALLERY_COLUMNS = 8


def added_notice(count: int, source: str, problems: list[Message]) -> str:
    """What an upload or a loaded set added, and the first few files it skipped."""
    notice = ngettext("Added {count} drawing from {source}.", "Added {count} drawings from {source}.", count).format(
        count=count, source=say(source)
    )
    if problems:
        skipped = "; ".join(map(say, problems[:3]))
        notice += " " + _("Skipped {count}: {problems}").format(count=len(problems), problems=skipped)
    return notice


st.title(_("Your drawings"))
store = model_store()
drawings = my_drawings()
st.markdown(
    _(
        "Every drawing you mark **Right, keep it** or **Wrong? It was a …** on the Draw page is kept here with its "
        "true digit, so you can **teach the network your handwriting**. They stay **in this browser session only** "
        "(gone when you close the tab) unless you save them as a named set, which is kept on the server in the "
        "models folder and can be used again later or with `python -m model learn`."
    )
)

counts = count_by_digit(drawings)
if drawings:
    st.caption(
        _("Drawings of each digit: {counts}").format(
            counts=", ".join(f"{digit}: {n}" for digit, n in enumerate(counts) if n)
        )
    )
    digit = st.segmented_control(
        _("Show the drawings of"), [d for d in range(10) if counts[d]], key="mine_digit", required=True,
        default=next(d for d in range(10) if counts[d]),
    )  # fmt: skip
    shown = [index for index, drawing in enumerate(drawings) if drawing.label == digit]
    for row in range(0, len(shown), GALLERY_COLUMNS):
        for column, index in zip(st.columns(GALLERY_COLUMNS), shown[row : row + GALLERY_COLUMNS], strict=False):
            column.image(thumbnail(drawings[index].pixels), width=72)
            if column.button(_("Delete"), key=f"delete_{index}_{id(drawings[index])}", type="tertiary"):
                del drawings[index]
                st.rerun()
else:
    st.info(_("No drawings yet: draw on the **Draw** page and tell the network whether it was right."))

with st.expander(_("Save, load, download or upload drawings"), expanded=not drawings):
    save_col, load_col = st.columns(2)
    with save_col:
        set_name = st.text_input(_("Save as a named set"), placeholder=_("e.g. ana-sevens"), key="set_name")
        if st.button(
            _("Save set"), disabled=not drawings or not set_name.strip(), icon=":material/save:", key="save_set"
        ):
            try:
                saved = store.save_drawing_set(set_name, drawings_to_zip(drawings))
                claim_for_session("set", saved)  # in a class, the set is its maker's
            except LabError as error:
                st.error(say(error))
            else:
                st.success(
                    ngettext(
                        "Saved {count} drawing as **{name}** in {folder}.",
                        "Saved {count} drawings as **{name}** in {folder}.",
                        len(drawings),
                    ).format(count=len(drawings), name=say(saved), folder=say(store.drawings_dir))
                )
    with load_col:
        sets = store.drawing_sets()
        chosen_set = st.selectbox(
            _("Saved sets"),
            sets,
            index=None,
            placeholder=_("none saved yet") if not sets else _("pick one"),
            key="saved_set",
        )
        if (
            st.button(
                _("Add this set to my drawings"),
                disabled=chosen_set is None,
                icon=":material/folder_open:",
                key="add_saved_set",
            )
            and chosen_set is not None
        ):
            try:
                loaded, problems = drawings_from_zip(
                    store.drawing_set(chosen_set, MAX_ZIP_BYTES), PREPROCESSING, chosen_set
                )
            except LabError as error:
                st.error(say(error))
            else:
                loaded = keep_all(loaded, problems)
                st.session_state["mine_notice"] = added_notice(len(loaded), chosen_set, problems)
                st.rerun()
    st.download_button(
        _("Download all as a zip (folders 0/ to 9/)"), lambda: drawings_to_zip(drawings), file_name="my-drawings.zip",
        mime="application/zip", icon=":material/download:", disabled=not drawings, on_click="ignore",
    )  # fmt: skip
    upload = st.file_uploader(_("Upload such a zip"), type=["zip"], key="mine_upload")
    if upload is not None and st.session_state.get("mine_uploaded") != upload.file_id:
        st.session_state["mine_uploaded"] = upload.file_id
        try:
            loaded, problems = drawings_from_zip(upload.getvalue(), PREPROCESSING, upload.name)
        except LabError as error:
            st.error(say(error))
        else:
            loaded = keep_all(loaded, problems)
            st.session_state["mine_notice"] = added_notice(len(loaded), upload.name, problems)
            st.rerun()
    sure = st.checkbox(_("Yes, forget all my drawings in this session"), key="mine_clear_sure")
    if st.button(_("Clear all"), disabled=not (sure and drawings), icon=":material/delete_sweep:", key="mine_clear"):
        drawings.clear()
        st.rerun()
if notice := st.session_state.pop("mine_notice", None):
    st.info(notice)


def teaching_text(latest: BatchEvent, state: str) -> str:
    return _("Teaching: epoch {epoch}/{epochs} · {state}").format(
        epoch=latest.epoch + 1, epochs=latest.epochs, state=state
    )


def teach_ui(base: ModelInfo, busy: bool, owner: str) -> TeachingWork | None:
    """How to teach, and what to teach as; the work to do once Teach is pressed, the name is free and ``owner``
    has no other job, else None."""
    st.markdown(
        say(
            Message(
                N_(
                    "Fine-tunes a **copy** of your model, **{name}**, on your drawings mixed with MNIST digits "
                    "it already knows (so it does not forget them), then saves the copy as a new model; the original "
                    "is never changed. About 15 % of your drawings are kept out of the teaching to show honestly "
                    "whether it learned your style."
                ),
                name=base.name,
            )
        )
    )
    left = max(0, MIN_TO_TEACH - len(drawings))
    if left:
        st.info(
            ngettext(
                "Keep {count} more drawing to teach; {suggested} of each digit it gets wrong help most.",
                "Keep {count} more drawings to teach; {suggested} of each digit it gets wrong help most.",
                left,
            ).format(count=left, suggested=SUGGESTED)
        )
    replay = st.toggle(
        _("Keep MNIST in the lesson (replay)"), True, key="teach_replay",
        help=_("Off: teach on your drawings only, and watch the MNIST bar fall: catastrophic forgetting."),
    )  # fmt: skip
    last_only = st.toggle(
        _("Change only the last layer"), False, key="teach_last_only",
        help=_("Freezes the hidden layers: the network may only re-weigh the features it already has."),
    )  # fmt: skip
    name = st.text_input(_("Save the taught copy as"), placeholder=base.name + TAUGHT_SUFFIX, key="teach_name")
    if not st.button(
        _("Teach the network"), type="primary", icon=":material/school:", disabled=busy or left > 0, key="teach_start"
    ):
        return None
    if not one_job_each(training_queue(), owner):
        return None
    try:
        target = store.check_new_name(name) if name.strip() else store.unique_name(base.name + TAUGHT_SUFFIX)
        store.check_writable()
    except LabError as error:
        st.error(say(Message(N_("Not started: {error}."), error=error)))
        return None
    from model.jobs.finetune import TeachOptions  # imports Keras: only when teaching starts

    options = TeachOptions(replay=replay, last_layer_only=last_only, mnist_test_size=read_settings().max_test)
    return TeachingWork(base.name, list(drawings), options, target, store)


def taught_ui(job: TeachingJob, outcome: TeachOutcome) -> None:
    """Before and after, whether the taught copy answers now (in this session), and a way back to the parent."""
    if st.session_state.get("teaching_used") is not job:  # once: Undo, or another model chosen later, then stays
        st.session_state["teaching_used"] = job
        if not outcome.blocked:
            use_model(outcome.model_name)
    mnist_label = _("MNIST test ({count} digits)").format(count=number(outcome.mnist_tested))
    scores = {mnist_label: (outcome.mnist_before, outcome.mnist_after)}
    if outcome.yours_before is not None and outcome.yours_after is not None:
        yours_label = _("Your held-out drawings ({count})").format(count=outcome.held_out)
        scores = {yours_label: (outcome.yours_before, outcome.yours_after), **scores}
    st.altair_chart(before_after_bars(scores), width="content")
    if outcome.blocked:
        said = N_("Saved as **{name}**, but it does not become your model: {reason}")
        st.warning(say(Message(said, name=outcome.model_name, reason=outcome.blocked)))
    else:
        said = N_("{message} Saved as **{name}**, now your model.")
        st.success(say(Message(said, message=outcome.message, name=outcome.model_name)))
    if outcome.yours_before is None:
        st.caption(_("Too few drawings to hold some out: draw a few more of each digit for an honest score."))
    if session_model(store).name != outcome.base and st.button(
        say(Message(N_("Undo: use {name} again"), name=outcome.base)), icon=":material/undo:", key="teach_undo"
    ):
        use_model(outcome.base)
        st.toast(say(Message(N_("{name} answers again."), name=outcome.base)))
        st.rerun()


st.header(_("Teach the network"))
job: TeachingJob | None = st.session_state.get("teaching_job")
try:
    base = session_model(store)
except LabError as error:
    st.error(say(Message(N_("There is no model to teach: {error}"), error=error)))
    st.stop()
owner = class_owner() or job_owner()  # in a class, one job at a time whether it trains or teaches
work = teach_ui(base, busy=job is not None and job.state.active, owner=owner)
if work is not None:
    job = st.session_state["teaching_job"] = TeachingJob(
        work, training_queue(), owner=owner, owner_present=session_connected(), workers=training_workers()
    ).start()
if job is not None and (outcome := job_progress_ui(job, key="teach_stop", describe=teaching_text)) is not None:
    taught_ui(job, outcome)
