"""Charts that read: what a chart says when its bars cannot show it."""

from __future__ import annotations


def test_a_layer_with_no_saturated_unit_says_0_percent_instead_of_an_empty_bar():
    import pandas as pd

    from model.net.events import dense_layer
    from ui.charts import unit_share_bars

    shares = pd.DataFrame({"layer": [dense_layer(0, 3), dense_layer(1, 3)], "share": [0.0, 0.25]})
    spec = unit_share_bars(shares, "saturated").to_dict()
    texts = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    assert texts and texts[0]["encoding"]["text"]["field"] == "said"
    rows = next(iter(spec["datasets"].values()))
    assert [row["said"] for row in rows] == ["0.0%", "25.0%"]
