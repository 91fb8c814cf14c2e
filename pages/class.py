"""Class: create a class or join one, the class board, and the teacher's controls."""

import streamlit as st

from ui.class_board import board_ui, remove_run_ui
from ui.class_teacher import teacher_ui
from ui.classroom import classroom, create_ui, join_ui, leave, links_ui, membership
from ui.language import _, say
from ui.shell import ensure_app_navigation
from utils.errors import LabError

ensure_app_navigation()

st.title(_("Class"))
member = membership()
if member is None:
    st.caption(_("Each student trains their own network; the class board shows everyone's, live."))
    create_col, join_col = st.columns(2, gap="large")
    with create_col:
        create_ui()
    with join_col:
        join_ui(None)
    st.stop()

try:
    info = classroom().get(member.code)
except LabError as error:
    st.error(say(error))
    st.stop()
st.caption(say(info.name))
if member.teacher_key is not None:
    links_ui(member)
elif member.student is None:
    join_ui(member.code)
if info.ended:
    st.info(_("This class has ended: its board stays, but nobody can join or train in it."))
board_ui(member.code)
if member.teacher_key is not None or member.student is not None:
    remove_run_ui(member)
if member.teacher_key is not None:
    st.subheader(_("Teacher's controls"))
    teacher_ui(member, info.limits)
if st.button(_("Leave this class"), icon=":material/logout:", type="tertiary", key="leave_class"):
    leave()
    st.rerun()
