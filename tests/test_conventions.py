"""World handwriting conventions drawn onto training digits (model/net/conventions.py) and their benchmark."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import binary_fill_holes

from model.net import conventions
from model.net.config import SETTING, TrainingConfig
from model.storage.metadata import ModelMetadata, parse_metadata


def _digit(splits, digit: int, nth: int = 0) -> np.ndarray:
    return splits.x_test[np.flatnonzero(splits.y_test == digit)[nth]].reshape(28, 28)


def _rng() -> np.random.Generator:
    return np.random.default_rng(3)


def _hole(zero: np.ndarray) -> np.ndarray:
    return binary_fill_holes(zero >= 0.5) & (zero < 0.5)


@pytest.mark.parametrize("nth", range(5))
def test_a_slashed_zero_has_ink_across_its_hole(small_splits, nth):
    closed = [zero for zero in (_digit(small_splits, 0, index) for index in range(20)) if _hole(zero).sum() > 10]
    zero = closed[nth]  # an open 0 has no hole to cross
    hole = _hole(zero)
    slashed = conventions.slashed_zero(zero, _rng())
    assert (slashed[hole] >= 0.5).mean() > 0.1 and (zero[hole] >= 0.5).mean() == 0
    assert np.all(slashed >= zero)  # ink is only added


@pytest.mark.parametrize("nth", range(5))
def test_a_flagged_one_is_wider_and_a_footed_one_has_a_base(small_splits, nth):
    one = _digit(small_splits, 1, nth)
    plain, flagged = conventions.measure(one), conventions.measure(conventions.flagged_one(one, _rng()))
    assert flagged.left <= plain.left - 3 and flagged.top >= plain.top - 1  # the flag goes left, not up
    footed = conventions.footed_one(one, _rng())
    bottom = plain.bottom
    assert (footed[bottom - 1 : bottom + 2] >= 0.5).any(axis=0).sum() > (one[bottom - 1 : bottom + 2] >= 0.5).any(
        axis=0
    ).sum() + 3


@pytest.mark.parametrize("nth", range(5))
def test_a_crossed_seven_has_a_bar_half_way_down(small_splits, nth):
    seven = _digit(small_splits, 7, nth)
    shape = conventions.measure(seven)
    middle = slice(shape.top + shape.height // 3, shape.bottom - shape.height // 4)
    crossed = conventions.crossed_seven(seven, _rng())
    gained = (crossed[middle] >= 0.5).sum(axis=1) - (seven[middle] >= 0.5).sum(axis=1)
    assert gained.max() >= 4  # a row of new ink: a horizontal bar


def test_pen_width_is_the_digits_own():
    thin, thick = np.zeros((28, 28), np.float32), np.zeros((28, 28), np.float32)
    thin[4:24, 13] = 1.0
    thick[4:24, 12:16] = 1.0
    assert conventions.measure(thin).pen == pytest.approx(1.0, abs=0.3)
    assert conventions.measure(thick).pen == pytest.approx(3.5, abs=0.6)


def test_only_a_seeded_share_of_0s_1s_and_7s_changes(small_splits):
    x, y = small_splits.x_train, small_splits.y_train
    rows, changed = conventions.apply_conventions(x, y, seed=0, preprocessing=small_splits.preprocessing)
    again, same = conventions.apply_conventions(x, y, seed=0, preprocessing=small_splits.preprocessing)
    _, moved = conventions.apply_conventions(x, y, seed=1, preprocessing=small_splits.preprocessing)
    assert np.array_equal(rows, again) and np.array_equal(changed, same)  # seeded, deterministic
    assert not np.array_equal(changed, moved)
    assert set(np.unique(y[changed])) == {0, 1, 7}
    untouched = np.setdiff1d(np.arange(len(x)), changed)
    assert np.array_equal(rows[untouched], x[untouched]) and not np.array_equal(rows[changed], x[changed])
    for digit, transforms in conventions.TAUGHT.items():
        share = np.isin(np.flatnonzero(y == digit), changed).mean()
        assert share == pytest.approx(sum(part for _, part in transforms), abs=0.05)
        assert share <= 0.35  # the plain form stays the majority
    assert rows.dtype == np.float32 and rows.min() >= 0 and rows.max() <= 1


def test_only_the_training_split_is_changed(small_splits):
    taught = conventions.with_conventions(small_splits, seed=0)
    assert not np.array_equal(taught.x_train, small_splits.x_train)
    for part in ("y_train", "x_val", "y_val", "x_test", "y_test", "preprocessing"):
        assert np.array_equal(getattr(taught, part), getattr(small_splits, part))


def test_training_uses_the_setting(small_splits, monkeypatch):
    from model.net.training import train

    calls = []
    original = conventions.with_conventions
    monkeypatch.setattr(conventions, "with_conventions", lambda data, seed: calls.append(seed) or original(data, seed))
    data = small_splits.limit(300, 100)
    train(TrainingConfig(hidden_layers=1, units=8, epochs=1, seed=5), data, look_inside=False)
    assert calls == []
    train(TrainingConfig(hidden_layers=1, units=8, epochs=1, seed=5, conventions=True), data, look_inside=False)
    assert calls == [5]


def test_the_setting_round_trips_through_config_metadata_and_the_command_line():
    from model.cli import build_parser

    setting = SETTING["conventions"]
    assert setting.kind is bool and setting.default is False and setting.flags == ("--conventions",)
    assert setting.label == "Teach world handwriting conventions"
    config = TrainingConfig(conventions=True)
    assert TrainingConfig.from_dict(config.to_dict()) == config
    assert parse_metadata(ModelMetadata(config=config).to_json()).config.conventions is True
    old = {key: value for key, value in config.to_dict().items() if key != "conventions"}
    assert TrainingConfig.from_dict(old).conventions is False  # models saved before the setting
    args = build_parser().parse_args(["train", "--conventions"])
    assert args.conventions is True and build_parser().parse_args(["train"]).conventions is False


def test_the_benchmark_draws_every_convention_on_test_digits(mnist_raw):
    from bench.conventions import convention_sets

    sets = convention_sets(mnist_raw.x_test, mnist_raw.y_test, per_set=3, seed=16)
    names = [drawings.name for drawings in sets]
    assert {"0 slashed", "1 with flag", "1 with flag and foot", "7 crossed", "4 open (two strokes)"} <= set(names)
    plain, slashed = sets[names.index("0 plain")], sets[names.index("0 slashed")]
    assert slashed.canvases.shape == (3, 280, 280, 4) and set(slashed.labels) == {0}
    assert np.all(slashed.canvases >= plain.canvases) and (slashed.canvases > plain.canvases).any()
    again = convention_sets(mnist_raw.x_test, mnist_raw.y_test, per_set=3, seed=16)
    assert all(np.array_equal(a.canvases, b.canvases) for a, b in zip(sets, again, strict=True))


def test_the_benchmark_prints_a_row_per_set(tmp_path, capsys):
    from bench.conventions import main

    main(["--models", "default", "--models-dir", str(tmp_path), "--per-set", "2"])
    out = capsys.readouterr().out
    assert "| 0 slashed | 2 |" in out and "| 4 open (two strokes) | 2 |" in out and "default: conventions mean" in out
