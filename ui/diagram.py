"""The network as a Graphviz picture: input -> hidden layers -> output, with sizes, in the reader's words."""

from __future__ import annotations

from model.net.config import TrainingConfig
from ui.language import _, ngettext, number, significant


def network_dot(config: TrainingConfig) -> str:
    """DOT source for ``st.graphviz_chart`` (rendered in the browser, no Graphviz install needed).

    Drawn top to bottom at its natural size, so it stays readable on a phone (left to right,
    a deep network shrank to a strip of unreadable boxes).
    """
    sizes = config.layer_sizes
    nodes = [_node("input", _("Input\n{count} pixels\n(28x28)").format(count=sizes[0]), "#dbeafe")]
    for index, units in enumerate(sizes[1:-1], start=1):
        hidden = (
            _("Hidden {index}\n{units} {activation}\ndropout {rate}")
            if config.dropout
            else _("Hidden {index}\n{units} {activation}")
        )
        label = hidden.format(
            index=index, units=units, activation=config.activation, rate=significant(config.dropout, 6)
        )
        nodes.append(_node(f"h{index}", label, "#fef3c7"))
    nodes.append(_node("output", _("Output\n{count} softmax\n(digits 0-9)").format(count=sizes[-1]), "#dcfce7"))
    names = ["input", *[f"h{index}" for index in range(1, len(sizes) - 1)], "output"]
    edges = [
        f'{a} -> {b} [label="{_dot_text(_weights(fan_in, fan_out))}"];'
        for a, b, fan_in, fan_out in zip(names, names[1:], sizes, sizes[1:], strict=False)
    ]
    return "\n".join(
        [
            "digraph network {",
            "rankdir=TB; bgcolor=transparent;",
            'node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, color="#64748b"];',
            'edge [fontname="Helvetica", fontsize=9, color="#64748b", fontcolor="#475569"];',
            *nodes,
            *edges,
            "}",
        ]
    )


def _weights(fan_in: int, fan_out: int) -> str:
    count = (fan_in + 1) * fan_out
    return ngettext("{count} weight", "{count} weights", count).format(count=number(count))


def _dot_text(text: str) -> str:
    """A label for a DOT string: quotes escaped, line breaks as DOT writes them."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _node(name: str, label: str, colour: str) -> str:
    return f'{name} [label="{_dot_text(label)}", fillcolor="{colour}"];'
