"""Reading audio: formats, channels, resampling, segments, errors that name the file."""

import math

import numpy as np
import pytest
import soundfile as sf
import torch

from asr import audio
from asr.errors import AudioError


def tone(freq: float, seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amp * np.sin(2 * math.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("suffix", ["wav", "flac"])
def test_load_mono(tmp_path, suffix):
    data = tone(440, 0.5, 16000)
    path = tmp_path / f"a.{suffix}"
    sf.write(path, data, 16000, subtype="PCM_16")
    wave = audio.load(path, 16000)
    assert wave.dtype == torch.float32 and wave.shape == (8000,)
    np.testing.assert_allclose(wave.numpy(), data, atol=1 / 32768 + 1e-6)


@pytest.mark.parametrize("suffix", ["wav", "flac"])
def test_stereo_is_mixed_to_mono(tmp_path, suffix):
    left, right = tone(440, 0.25, 16000, 0.6), tone(1000, 0.25, 16000, 0.2)
    path = tmp_path / f"st.{suffix}"
    sf.write(path, np.stack([left, right], axis=1), 16000, subtype="PCM_16")
    wave = audio.load(path, 16000)
    assert wave.shape == (4000,)
    np.testing.assert_allclose(wave.numpy(), (left + right) / 2, atol=2 / 32768 + 1e-6)


def test_resampling_8k_to_16k_doubles_length(tmp_path):
    path = tmp_path / "low.wav"
    sf.write(path, tone(300, 1.0, 8000), 8000, subtype="FLOAT")
    wave = audio.load(path, 16000)
    assert wave.shape == (16000,)
    expected = tone(300, 1.0, 16000)
    # Away from the edges, the resampled tone is the tone at 16 kHz.
    np.testing.assert_allclose(wave[400:-400].numpy(), expected[400:-400], atol=0.01)


def test_resample_same_rate_is_identity():
    x = torch.randn(100)
    assert audio.resample(x, 16000, 16000) is x


def test_offset_and_duration_select_a_segment(tmp_path):
    data = (np.arange(16000, dtype=np.float32) / 16000) - 0.5  # a ramp: every sample distinct
    path = tmp_path / "ramp.wav"
    sf.write(path, data, 16000, subtype="FLOAT")
    seg = audio.load(path, 16000, offset=0.5, duration=0.25)
    np.testing.assert_array_equal(seg.numpy(), data[8000:12000])
    tail = audio.load(path, 16000, offset=0.75)
    np.testing.assert_array_equal(tail.numpy(), data[12000:])
    # A duration past the end reads what there is.
    assert audio.load(path, 16000, offset=0.9, duration=5.0).shape == (1600,)


def test_segment_past_the_end_is_an_error(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, tone(440, 0.1, 16000), 16000)
    with pytest.raises(AudioError, match="no audio samples at offset 2 s") as e:
        audio.load(path, 16000, offset=2.0, duration=1.0)
    assert str(path) in str(e.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioError, match="no such audio file") as e:
        audio.load(path, 16000)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("content", [b"", b"this is not audio at all\n" * 20], ids=["empty", "text"])
def test_unreadable_file(tmp_path, content):
    path = tmp_path / "fake.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match="not a readable audio file") as e:
        audio.load(path, 16000)
    assert str(path) in str(e.value)
    with pytest.raises(AudioError) as e:
        audio.info(path)
    assert str(path) in str(e.value)


def test_wav_without_samples(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="no audio samples") as e:
        audio.load(path, 16000)
    assert str(path) in str(e.value)


def test_info_reads_the_header(tmp_path):
    path = tmp_path / "st.flac"
    sf.write(path, np.zeros((12000, 2), dtype=np.float32), 8000)
    i = audio.info(path)
    assert (i.sample_rate, i.frames, i.channels) == (8000, 12000, 2)
    assert i.duration == pytest.approx(1.5)


def test_write_then_load(tmp_path):
    data = tone(440, 0.2, 16000, amp=1.5)  # clipped to [-1, 1] on write
    path = tmp_path / "sub" / "w.wav"
    audio.write(path, torch.from_numpy(data), 16000)
    assert sf.info(path).subtype == "PCM_16"
    wave = audio.load(path, 16000)
    assert wave.abs().max() <= 1.0
    np.testing.assert_allclose(wave.numpy(), np.clip(data, -1, 1), atol=1 / 32768 + 1e-6)


def test_info_on_missing_file_says_so(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioError) as e:
        audio.info(path)
    assert str(path) in str(e.value)
    assert "no such audio file" in str(e.value)
