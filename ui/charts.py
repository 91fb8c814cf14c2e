"""Altair charts shared by the pages: training curves, probabilities, confusion, pixels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from model.net.events import Layer
from ui.language import _, percent
from utils.i18n import N_

# Axis and legend titles and the names in the data are in the reader's language, so each chart is made
# per script run, after the language is known.
METRIC_TITLES = {"loss": N_("Loss (cross-entropy), log scale"), "accuracy": N_("Accuracy")}  # the y axis
METRIC_NAMES = {"loss": N_("Loss"), "accuracy": N_("Accuracy")}  # in tooltips
COMPACT_LEGEND = alt.Legend(orient="top", title=None, columns=3, columnPadding=6, symbolSize=50)
LOSS_TICKS = [0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10]


def training_curves(batches: pd.DataFrame, epochs: pd.DataFrame, metric: str) -> alt.Chart:
    """Per-batch training curve (smoothed) with per-epoch training and validation points on top."""
    batch, epoch, validation_name = _("batch"), _("epoch"), _("validation")  # the legend's entries
    rows = [batches.assign(series=batch)[["epoch", metric, "series"]]]
    if len(epochs):
        rows.append(epochs.assign(series=epoch)[["epoch", metric, "series"]])
        validation = epochs[["epoch", f"val_{metric}"]].rename(columns={f"val_{metric}": metric})
        rows.append(validation.dropna().assign(series=validation_name))
    data = pd.concat(rows, ignore_index=True)
    colours = alt.Scale(
        domain=[batch, epoch, validation_name],
        range=["#93c5fd", "#1d4ed8", "#f97316"],
    )
    title = _(METRIC_TITLES[metric])
    if metric == "loss":  # falls over orders of magnitude: log scale, round ticks
        y = alt.Y("loss:Q", title=title, scale=alt.Scale(type="log"), axis=alt.Axis(values=LOSS_TICKS))
    else:
        y = alt.Y(f"{metric}:Q", title=title, scale=alt.Scale(zero=False))
    base = alt.Chart(data).encode(
        x=alt.X("epoch:Q", title=_("Epoch")),
        y=y,
        color=alt.Color("series:N", scale=colours, legend=COMPACT_LEGEND),
        tooltip=[
            alt.Tooltip("series:N", title=_("Series")),
            alt.Tooltip("epoch:Q", title=_("Epoch"), format=".2f"),
            alt.Tooltip(f"{metric}:Q", title=_(METRIC_NAMES[metric]), format=".4f"),
        ],
    )
    curve = base.transform_filter(alt.datum.series == batch).mark_line()
    points = base.transform_filter(alt.datum.series != batch).mark_line(point=True)
    return (curve + points).properties(height=280)


def history_overlay(
    histories: Mapping[str, Mapping[str, Sequence[float]]], metric: str, fraction: bool = False
) -> alt.Chart:
    """Several models' per-epoch curves on one chart: a colour per model, solid training, dashed validation.

    With ``fraction`` the x axis is the share of each model's training done, so a 3-epoch
    run is not squashed against a 100-epoch one.
    """
    rows = []
    training, validation = _("training"), _("validation")  # the legend's line styles
    for name, history in histories.items():
        for split, key in ((training, metric), (validation, f"val_{metric}")):
            values = history.get(key, [])
            for epoch, value in enumerate(values, start=1):
                x = epoch / len(values) if fraction else epoch
                rows.append({"model": name, "split": split, "x": x, "epoch": epoch, metric: value})
    data = pd.DataFrame(rows, columns=["model", "split", "x", "epoch", metric])
    y_title = _(METRIC_TITLES[metric])
    y_scale = alt.Scale(type="log") if metric == "loss" else alt.Scale(zero=False)
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("x:Q", title=_("Share of training done") if fraction else _("Epoch"),
                    axis=alt.Axis(format="%") if fraction else alt.Axis()),
            y=alt.Y(f"{metric}:Q", title=y_title, scale=y_scale),
            color=alt.Color("model:N", scale=alt.Scale(scheme="category10"),
                            legend=alt.Legend(orient="top", title=_("Model (colour)"), columns=1, labelLimit=320)),
            strokeDash=alt.StrokeDash("split:N", sort=[training, validation],
                                      legend=alt.Legend(orient="top", title=_("Split (line)"))),
            tooltip=[alt.Tooltip("model:N", title=_("Model")), alt.Tooltip("split:N", title=_("Split")),
                     alt.Tooltip("epoch:Q", title=_("Epoch")),
                     alt.Tooltip(f"{metric}:Q", title=_(METRIC_NAMES[metric]), format=".4f")],
        )
        .properties(height=300)
    )  # fmt: skip


def probability_bars(probabilities: np.ndarray) -> alt.Chart:
    """Ten bars, the winner highlighted."""
    data = pd.DataFrame({"digit": [str(d) for d in range(10)], "probability": probabilities})
    winner = str(int(np.argmax(probabilities)))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("digit:N", title=_("Digit"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("probability:Q", title=_("Probability"), scale=alt.Scale(domain=[0, 1])),
            color=alt.condition(alt.datum.digit == winner, alt.value("#1d4ed8"), alt.value("#94a3b8")),
            tooltip=[
                alt.Tooltip("digit:N", title=_("Digit")),
                alt.Tooltip("probability:Q", title=_("Probability"), format=".2%"),
            ],
        )
        .properties(height=220)
    )


def confusion_heatmap(matrix: np.ndarray) -> alt.Chart:
    """Counts of true (rows) versus predicted (columns) digits, with the numbers written in."""
    true, predicted = np.indices(matrix.shape)
    data = pd.DataFrame({"true": true.ravel(), "predicted": predicted.ravel(), "count": matrix.ravel()})
    data["correct"] = data["true"] == data["predicted"]
    base = alt.Chart(data).encode(
        x=alt.X("predicted:O", title=_("Predicted digit"), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("true:O", title=_("True digit")),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
        tooltip=[
            alt.Tooltip("true:O", title=_("True digit")),
            alt.Tooltip("predicted:O", title=_("Predicted digit")),
            alt.Tooltip("count:Q", title=_("Count")),
        ],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("count:Q"),
        color=alt.condition(alt.datum.correct, alt.value("white"), alt.value("#0f172a")),
    )
    return (cells + text).properties(height=340)


def pixel_heatmap(digit: np.ndarray) -> alt.Chart:
    """The 784 inputs as a heat map, with each value in its tooltip."""
    rows, cols = np.indices(digit.shape)
    data = pd.DataFrame({"row": rows.ravel(), "column": cols.ravel(), "value": np.asarray(digit).ravel()})
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X("column:O", title=_("column"), axis=alt.Axis(labelAngle=0, values=list(range(0, 28, 4)))),
            y=alt.Y("row:O", title=_("row"), axis=alt.Axis(values=list(range(0, 28, 4)))),
            color=alt.Color("value:Q", scale=alt.Scale(scheme="greys", domain=[0, 255], reverse=True), title="pixel"),
            tooltip=[
                alt.Tooltip("row:O", title=_("row")),
                alt.Tooltip("column:O", title=_("column")),
                alt.Tooltip("value:Q", title=_("value")),
            ],
        )
        .properties(height=360, width=360)
    )


UPDATE_RATIO_GUIDE = 1e-3  # CS231n: updates about a thousandth of the weights per step are healthy


def layer_label(layer: Layer) -> str:
    """A Dense layer in the reader's words: 'hidden 2', 'output'."""
    return _("output") if layer.is_output else _("hidden {number}").format(number=layer.number)


def _with_layer_labels(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(layer=frame["layer"].map(layer_label)) if len(frame) else frame


def _layer_lines(curve: pd.DataFrame, field: str, title: str) -> alt.Chart:
    """One line per Dense layer of ``field`` over the epochs, on a log scale (non-positive values left out).

    ``title`` is the y axis's, already translated.
    """
    data = curve.dropna(subset=[field])
    data = _with_layer_labels(data[data[field] > 0])
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", title=_("Epoch")),
            y=alt.Y(f"{field}:Q", title=title, scale=alt.Scale(type="log")),
            color=alt.Color("layer:N", legend=COMPACT_LEGEND, sort=None),
            tooltip=[
                alt.Tooltip("layer:N", title=_("Layer")),
                alt.Tooltip("epoch:Q", title=_("Epoch"), format=".2f"),
                alt.Tooltip(f"{field}:Q", title=title, format=".2e"),
            ],
        )
    )


def gradient_norm_lines(curve: pd.DataFrame) -> alt.Chart:
    """||d loss / d W|| per layer: lines far apart mean the gradient vanishes (or explodes)."""
    return _layer_lines(curve, "gradient_norm", _("Gradient norm (log scale)")).properties(height=240)


def update_ratio_lines(curve: pd.DataFrame) -> alt.Chart:
    """Weight change per update relative to the weights, per layer, with the 1e-3 rule of thumb."""
    lines = _layer_lines(curve, "update_ratio", _("Update / weight per step (log scale)"))
    guide = alt.Chart(pd.DataFrame({"guide": [UPDATE_RATIO_GUIDE]})).mark_rule(strokeDash=[4, 4], color="gray")
    return (lines + guide.encode(y="guide:Q")).properties(height=240)


UNIT_SHARE_TITLES = {"dead": N_("Share of dead units"), "saturated": N_("Share of saturated units")}


def unit_share_height(layers: int) -> int:
    """Pixels for the unit-share bars: a readable row per layer (Streamlit squeezed the spec's own height)."""
    return 60 + 36 * max(1, layers)


def unit_share_bars(shares: pd.DataFrame, what: str) -> alt.Chart:
    """Share of hidden units that pass (almost) no gradient back, per layer; ``what``: "dead" or "saturated"."""
    title = _(UNIT_SHARE_TITLES[what])
    data = _with_layer_labels(shares).assign(said=[percent(float(share), 1) for share in shares["share"]])
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", title=title, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("layer:N", title=None, sort=None),
            tooltip=[alt.Tooltip("layer:N", title=_("Layer")), alt.Tooltip("said:N", title=title)],
        )
    )
    values = bars.mark_text(align="left", dx=4).encode(alt.Text("said:N"))  # "0.0%" where no bar can show it
    return bars + values


def projection_scatter(points: np.ndarray, labels: np.ndarray) -> alt.Chart:
    """Test digits in the plane of the last hidden layer's two main directions, coloured by their true digit."""
    data = pd.DataFrame({"x": points[:, 0].astype(float), "y": points[:, 1].astype(float), "digit": labels.astype(str)})
    return (
        alt.Chart(data)
        .mark_circle(size=18, opacity=0.7)
        .encode(
            x=alt.X("x:Q", title=_("1st principal direction"), axis=alt.Axis(labels=False)),
            y=alt.Y("y:Q", title=_("2nd principal direction"), axis=alt.Axis(labels=False)),
            color=alt.Color("digit:N", scale=alt.Scale(scheme="category10"), legend=COMPACT_LEGEND),
            tooltip=[alt.Tooltip("digit:N", title=_("Digit"))],
        )
        .properties(height=360)
    )


def before_after_bars(scores: dict[str, tuple[float, float]]) -> alt.Chart:
    """Accuracy before and after teaching, side by side for each set of digits (named, translated, by the caller)."""
    order = [_("before"), _("after")]  # the bars' labels
    rows = [
        {"set": name, "when": when, "accuracy": value}
        for name, pair in scores.items()
        for when, value in zip(order, pair, strict=True)
    ]
    base = alt.Chart(pd.DataFrame(rows)).encode(
        x=alt.X("when:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("accuracy:Q", title=_("Accuracy"), scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("when:N", sort=order, scale=alt.Scale(range=["#94a3b8", "#1d4ed8"]), legend=None),
    )  # fmt: skip
    bars = base.mark_bar()
    labels = base.mark_text(dy=-8).encode(text=alt.Text("accuracy:Q", format=".1%"))
    return (bars + labels).properties(height=220).facet(column=alt.Column("set:N", title=None))
