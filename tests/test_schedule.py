"""Learning-rate schedules."""

import math

import pytest

from asr.errors import ConfigError
from asr.schedule import Schedule


def test_cosine_warms_up_then_decays_to_the_floor():
    s = Schedule("cosine", peak=1.0, warmup=10, total=110, final_ratio=0.1)
    assert s.lr(0) == pytest.approx(0.1)
    assert s.lr(9) == pytest.approx(1.0)
    assert s.lr(60) == pytest.approx(0.1 + 0.9 * 0.5)
    assert s.lr(110) == pytest.approx(0.1)
    assert s.lr(500) == pytest.approx(0.1)


def test_noam_decays_with_inverse_square_root():
    s = Schedule("noam", peak=2.0, warmup=100, total=1000, final_ratio=0.01)
    assert s.lr(99) == pytest.approx(2.0)
    assert s.lr(399) == pytest.approx(2.0 * math.sqrt(100 / 400))


def test_plateau_halves_after_patience_and_round_trips():
    s = Schedule("plateau", peak=1.0, warmup=0, total=10, final_ratio=0.2, patience=2)
    for loss in (1.0, 0.9, 0.95, 0.95):
        s.epoch_end(loss)
    assert s.lr(5) == pytest.approx(0.5)
    s.epoch_end(0.99)
    s.epoch_end(0.99)
    s.epoch_end(0.99)
    s.epoch_end(0.99)
    assert s.lr(5) == pytest.approx(0.2)  # never below the floor
    t = Schedule("plateau", peak=1.0, warmup=0, total=10, final_ratio=0.2, patience=2)
    t.load_state_dict(s.state_dict())
    assert t.lr(7) == s.lr(7)


def test_unknown_schedule():
    with pytest.raises(ConfigError, match="cosine, noam, plateau"):
        Schedule("linear", 1.0, 0, 1, 0.1)
