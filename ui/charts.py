"""Altair charts shared by the pages: training curves, probabilities, confusion, pixels."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

METRIC_TITLES = {"loss": "Loss (cross-entropy)", "accuracy": "Accuracy"}
COMPACT_LEGEND = alt.Legend(orient="top", title=None, columns=3, columnPadding=6, symbolSize=50)
LOSS_TICKS = [0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10]


def training_curves(batches: pd.DataFrame, epochs: pd.DataFrame, metric: str) -> alt.Chart:
    """Per-batch training curve (smoothed) with per-epoch training and validation points on top."""
    rows = [batches.assign(series="batch")[["epoch", metric, "series"]]]
    if len(epochs):
        rows.append(epochs.assign(series="epoch")[["epoch", metric, "series"]])
        validation = epochs[["epoch", f"val_{metric}"]].rename(columns={f"val_{metric}": metric})
        rows.append(validation.dropna().assign(series="validation"))
    data = pd.concat(rows, ignore_index=True)
    colours = alt.Scale(
        domain=["batch", "epoch", "validation"],
        range=["#93c5fd", "#1d4ed8", "#f97316"],
    )
    if metric == "loss":  # falls over orders of magnitude: log scale, round ticks
        y = alt.Y(
            "loss:Q",
            title=f"{METRIC_TITLES[metric]}, log scale",
            scale=alt.Scale(type="log"),
            axis=alt.Axis(values=LOSS_TICKS),
        )
    else:
        y = alt.Y(f"{metric}:Q", title=METRIC_TITLES[metric], scale=alt.Scale(zero=False))
    base = alt.Chart(data).encode(
        x=alt.X("epoch:Q", title="Epoch"),
        y=y,
        color=alt.Color("series:N", scale=colours, legend=COMPACT_LEGEND),
        tooltip=["series:N", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip(f"{metric}:Q", format=".4f")],
    )
    curve = base.transform_filter(alt.datum.series == "batch").mark_line()
    points = base.transform_filter(alt.datum.series != "batch").mark_line(point=True)
    return (curve + points).properties(height=280)


def history_overlay(histories: dict[str, dict[str, list[float]]], metric: str, fraction: bool = False) -> alt.Chart:
    """Several models' per-epoch curves on one chart: a colour per model, solid training, dashed validation.

    With ``fraction`` the x axis is the share of each model's training done, so a 3-epoch
    run is not squashed against a 100-epoch one.
    """
    rows = []
    for name, history in histories.items():
        for split, key in (("training", metric), ("validation", f"val_{metric}")):
            values = history.get(key, [])
            for epoch, value in enumerate(values, start=1):
                x = epoch / len(values) if fraction else epoch
                rows.append({"model": name, "split": split, "x": x, "epoch": epoch, metric: value})
    data = pd.DataFrame(rows, columns=["model", "split", "x", "epoch", metric])
    y_title = f"{METRIC_TITLES[metric]}, log scale" if metric == "loss" else METRIC_TITLES[metric]
    y_scale = alt.Scale(type="log") if metric == "loss" else alt.Scale(zero=False)
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("x:Q", title="Share of training done" if fraction else "Epoch",
                    axis=alt.Axis(format="%") if fraction else alt.Axis()),
            y=alt.Y(f"{metric}:Q", title=y_title, scale=y_scale),
            color=alt.Color("model:N", scale=alt.Scale(scheme="category10"),
                            legend=alt.Legend(orient="top", title="Model (colour)", columns=1, labelLimit=320)),
            strokeDash=alt.StrokeDash("split:N", sort=["training", "validation"],
                                      legend=alt.Legend(orient="top", title="Split (line)")),
            tooltip=["model:N", "split:N", "epoch:Q", alt.Tooltip(f"{metric}:Q", format=".4f")],
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
            x=alt.X("digit:N", title="Digit", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("probability:Q", title="Probability", scale=alt.Scale(domain=[0, 1])),
            color=alt.condition(alt.datum.digit == winner, alt.value("#1d4ed8"), alt.value("#94a3b8")),
            tooltip=["digit:N", alt.Tooltip("probability:Q", format=".2%")],
        )
        .properties(height=220)
    )


def confusion_heatmap(matrix: np.ndarray) -> alt.Chart:
    """Counts of true (rows) versus predicted (columns) digits, with the numbers written in."""
    true, predicted = np.indices(matrix.shape)
    data = pd.DataFrame({"true": true.ravel(), "predicted": predicted.ravel(), "count": matrix.ravel()})
    data["correct"] = data["true"] == data["predicted"]
    base = alt.Chart(data).encode(
        x=alt.X("predicted:O", title="Predicted digit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("true:O", title="True digit"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
        tooltip=["true:O", "predicted:O", "count:Q"],
    )
    text = base.mark_text(fontSize=11).encode(
        text="count:Q",
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
            x=alt.X("column:O", axis=alt.Axis(labelAngle=0, values=list(range(0, 28, 4)))),
            y=alt.Y("row:O", axis=alt.Axis(values=list(range(0, 28, 4)))),
            color=alt.Color("value:Q", scale=alt.Scale(scheme="greys", domain=[0, 255], reverse=True), title="pixel"),
            tooltip=["row:O", "column:O", "value:Q"],
        )
        .properties(height=360, width=360)
    )


UPDATE_RATIO_GUIDE = 1e-3  # CS231n: updates about a thousandth of the weights per step are healthy


def _layer_lines(curve: pd.DataFrame, field: str, title: str) -> alt.Chart:
    """One line per Dense layer of ``field`` over the epochs, on a log scale (non-positive values left out)."""
    data = curve.dropna(subset=[field])
    data = data[data[field] > 0]
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", title="Epoch"),
            y=alt.Y(f"{field}:Q", title=f"{title} (log scale)", scale=alt.Scale(type="log")),
            color=alt.Color("layer:N", legend=COMPACT_LEGEND, sort=None),
            tooltip=["layer:N", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip(f"{field}:Q", format=".2e")],
        )
    )


def gradient_norm_lines(curve: pd.DataFrame) -> alt.Chart:
    """||d loss / d W|| per layer: lines far apart mean the gradient vanishes (or explodes)."""
    return _layer_lines(curve, "gradient_norm", "Gradient norm").properties(height=240)


def update_ratio_lines(curve: pd.DataFrame) -> alt.Chart:
    """Weight change per update relative to the weights, per layer, with the 1e-3 rule of thumb."""
    lines = _layer_lines(curve, "update_ratio", "Update / weight per step")
    guide = alt.Chart(pd.DataFrame({"guide": [UPDATE_RATIO_GUIDE]})).mark_rule(strokeDash=[4, 4], color="gray")
    return (lines + guide.encode(y="guide:Q")).properties(height=240)


def unit_share_bars(shares: pd.DataFrame, what: str) -> alt.Chart:
    """Share of hidden units that pass (almost) no gradient back, per layer."""
    return (
        alt.Chart(shares)
        .mark_bar()
        .encode(
            x=alt.X(
                "share:Q", title=f"Share of {what} units", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")
            ),
            y=alt.Y("layer:N", title=None, sort=None),
            tooltip=["layer:N", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=max(80, 30 * len(shares)))
    )


def projection_scatter(points: np.ndarray, labels: np.ndarray) -> alt.Chart:
    """Test digits in the plane of the last hidden layer's two main directions, coloured by their true digit."""
    data = pd.DataFrame({"x": points[:, 0].astype(float), "y": points[:, 1].astype(float), "digit": labels.astype(str)})
    return (
        alt.Chart(data)
        .mark_circle(size=18, opacity=0.7)
        .encode(
            x=alt.X("x:Q", title="1st principal direction", axis=alt.Axis(labels=False)),
            y=alt.Y("y:Q", title="2nd principal direction", axis=alt.Axis(labels=False)),
            color=alt.Color("digit:N", scale=alt.Scale(scheme="category10"), legend=COMPACT_LEGEND),
            tooltip=["digit:N"],
        )
        .properties(height=360)
    )


def before_after_bars(scores: dict[str, tuple[float, float]]) -> alt.Chart:
    """Accuracy before and after teaching, side by side for each set of digits."""
    rows = [
        {"set": name, "when": when, "accuracy": value}
        for name, pair in scores.items()
        for when, value in zip(("before", "after"), pair, strict=True)
    ]
    base = alt.Chart(pd.DataFrame(rows)).encode(
        x=alt.X("when:N", sort=["before", "after"], title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("accuracy:Q", title="Accuracy", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("when:N", sort=["before", "after"], scale=alt.Scale(range=["#94a3b8", "#1d4ed8"]),
                        legend=None),
    )  # fmt: skip
    bars = base.mark_bar()
    labels = base.mark_text(dy=-8).encode(text=alt.Text("accuracy:Q", format=".1%"))
    return (bars + labels).properties(height=220).facet(column=alt.Column("set:N", title=None))
