"""eSpeak NG synthesis: real audio at the reported rate, voices, reproducibility."""

import numpy as np
import pytest

from asr import synth
from asr.errors import AsrError


def test_synthesize_returns_speech_at_reported_rate():
    wave, rate = synth.synthesize("one two three")
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert 8000 <= rate <= 48000
    assert 0.4 < len(wave) / rate < 4.0  # three words: about a second
    assert np.abs(wave).max() <= 1.0
    assert np.sqrt(np.mean(wave**2)) > 0.01  # not silent


def test_longer_text_gives_longer_audio():
    short, rate = synth.synthesize("five")
    long, _ = synth.synthesize("five six seven eight nine zero one")
    assert len(long) > 2 * len(short)


def test_slower_rate_gives_longer_audio():
    fast, _ = synth.synthesize("four four four four", rate=230)
    slow, _ = synth.synthesize("four four four four", rate=130)
    assert len(slow) > 1.3 * len(fast)


def test_variants_are_listed_and_usable():
    variants = synth.list_variants()
    assert {"m3", "f2"} <= set(variants)
    wave, _ = synth.synthesize("eight", voice="en-us+f2", pitch=70, pitch_range=80)
    assert np.abs(wave).max() > 0.05


def test_unknown_voice_is_an_asr_error():
    with pytest.raises(AsrError, match="voice"):
        synth.synthesize("one", voice="en+no-such-variant")


def test_reset_makes_synthesis_reproducible():
    synth.reset()
    first, _ = synth.synthesize("three oh nine", voice="en+m1")
    synth.synthesize("seven seven", voice="en+f3", pitch=30)
    synth.reset()
    again, _ = synth.synthesize("three oh nine", voice="en+m1")
    np.testing.assert_array_equal(first, again)
