"""A Streamlit client that speaks the app's websocket protocol directly, without a browser.

What a browser tab does, reduced to the messages: ask for a page, receive its elements,
send widget values (a drawing on the canvas, a button press) and wait until the server
says the script run has finished. A load test built on it measures the server without
any browser rendering, which a real user's own computer does.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from bench.strokes import render_canvas, scaled


@dataclass
class Run:
    """What one script run sent back."""

    seconds: float
    elements: list = field(default_factory=list)  # Element protos, in order
    fragment_ids: set[str] = field(default_factory=set)
    status: int = ForwardMsg.FINISHED_SUCCESSFULLY

    def of_type(self, kind: str) -> Iterator:
        return (element for element in self.elements if element.WhichOneof("type") == kind)

    @property
    def succeeded(self) -> bool:
        return self.status in (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)

    @property
    def exceptions(self) -> list[str]:
        return [element.exception.message for element in self.of_type("exception")]


class StreamlitSocket:
    """One session of the app (one browser tab's worth), driven message by message."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/").replace("http", "ws", 1) + "/_stcore/stream"  # http -> ws, https -> wss
        self.socket = None
        self.widgets: dict[str, WidgetState] = {}

    async def __aenter__(self) -> StreamlitSocket:
        self.socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.socket.close()

    def set_json(self, widget_id: str, value: object) -> None:
        self.widgets[widget_id] = WidgetState(id=widget_id, json_value=json.dumps(value))

    def set_bool(self, widget_id: str, value: bool) -> None:
        self.widgets[widget_id] = WidgetState(id=widget_id, bool_value=value)

    def set_text(self, widget_id: str, value: str) -> None:
        self.widgets[widget_id] = WidgetState(id=widget_id, string_value=value)

    def set_number(self, widget_id: str, value: float) -> None:
        state = WidgetState(id=widget_id)
        state.double_array_value.data.append(value)
        self.widgets[widget_id] = state

    async def rerun(self, page: str, fragment_id: str = "", press: str | None = None, query: str = "") -> Run:
        """Run ``page`` (or one fragment of it) with the widget values set so far; returns when it finishes.

        ``query``: the address' query string (``class=ABC234``), as a browser opening a link sends it.
        """
        message = BackMsg()
        message.rerun_script.page_name = page
        message.rerun_script.query_string = query
        message.rerun_script.fragment_id = fragment_id
        message.rerun_script.widget_states.widgets.extend(self.widgets.values())
        if press:
            message.rerun_script.widget_states.widgets.append(WidgetState(id=press, trigger_value=True))
        started = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        return await self._until_finished(started)

    async def _until_finished(self, started: float) -> Run:
        run = Run(seconds=0.0)
        while True:
            message = ForwardMsg()
            message.ParseFromString(await self.socket.recv())
            kind = message.WhichOneof("type")
            if kind == "delta":
                if message.delta.fragment_id:
                    run.fragment_ids.add(message.delta.fragment_id)
                if message.delta.WhichOneof("type") == "new_element":
                    run.elements.append(message.delta.new_element)
            elif kind == "script_finished" and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                run.seconds = time.perf_counter() - started
                run.status = message.script_finished
                return run


def canvas_state(strokes: list[list[tuple[float, float]]], pen: int = 20) -> dict:
    """The canvas component's value for a drawing (strokes in fractions of the canvas), as the page reads it."""
    rgba = render_canvas(scaled(strokes), pen)
    png = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))[1].tobytes()
    url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return {"drawing": {"raw": {"objects": [], "background": "#000000"}, "data": url}}
