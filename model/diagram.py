"""The network as a Graphviz picture: input -> hidden layers -> output, with sizes."""

from __future__ import annotations

from model.config import TrainingConfig


def network_dot(config: TrainingConfig) -> str:
    """DOT source for ``st.graphviz_chart`` (rendered in the browser, no Graphviz install needed).

    Drawn top to bottom at its natural size, so it stays readable on a phone (left to right,
    a deep network shrank to a strip of unreadable boxes).
    """
    sizes = config.layer_sizes
    nodes = [f'input [label="Input\\n{sizes[0]} pixels\\n(28x28)", fillcolor="#dbeafe"];']
    for index, units in enumerate(sizes[1:-1], start=1):
        dropout = f"\\ndropout {config.dropout:g}" if config.dropout else ""
        nodes.append(f'h{index} [label="Hidden {index}\\n{units} {config.activation}{dropout}", fillcolor="#fef3c7"];')
    nodes.append(f'output [label="Output\\n{sizes[-1]} softmax\\n(digits 0-9)", fillcolor="#dcfce7"];')
    names = ["input", *[f"h{index}" for index in range(1, len(sizes) - 1)], "output"]
    edges = [
        f'{a} -> {b} [label="{(fan_in + 1) * fan_out:,} weights"];'
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
