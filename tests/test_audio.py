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


# ---- robustness: good-but-unusual files load correctly; bad ones are one AudioError naming the file ----

GOOD_FILES = {  # name -> (channels, rate, subtype)
    "stereo.wav": (2, 16000, "PCM_16"),
    "8k.wav": (1, 8000, "PCM_16"),
    "22k.wav": (1, 22050, "PCM_16"),
    "44k.wav": (1, 44100, "PCM_16"),
    "48k.wav": (1, 48000, "PCM_16"),
    "pcm24.wav": (1, 16000, "PCM_24"),
    "float.wav": (1, 16000, "FLOAT"),
    "audio.flac": (1, 16000, "PCM_16"),
    "stereo44k.flac": (2, 44100, "PCM_24"),
    "UPPER.WAV": (1, 16000, "PCM_16"),
}


@pytest.mark.parametrize("name", sorted(GOOD_FILES))
def test_unusual_but_valid_audio_loads_as_mono_float32(tmp_path, name):
    channels, rate, subtype = GOOD_FILES[name]
    data = np.stack([tone(300 + 200 * c, 0.5, rate, 0.4) for c in range(channels)], axis=1)
    path = tmp_path / name
    sf.write(path, data, rate, subtype=subtype)
    i = audio.info(path)
    assert (i.sample_rate, i.channels) == (rate, channels) and i.duration == pytest.approx(0.5, abs=1e-3)
    wave = audio.load(path, 16000)
    assert wave.dtype == torch.float32 and wave.dim() == 1
    assert abs(wave.shape[0] - 8000) <= 1
    expected = data.mean(axis=1) if rate == 16000 else (tone(300, 0.5, 16000, 0.4) + (tone(500, 0.5, 16000, 0.4)
                                                                                    if channels == 2 else 0)) / channels
    np.testing.assert_allclose(wave[200:7800].numpy(), expected[200:7800], atol=0.01)


def _bad_file(tmp_path, kind):
    path = tmp_path / f"{kind}.wav"
    if kind == "corrupt":
        path.write_bytes(b"RIFF\xff\xff\xff\xffWAVEfmt " + bytes(200))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "zero-samples":
        sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    elif kind == "text":
        path.write_text("this is not audio\n")
    elif kind == "folder":
        path.mkdir()
    elif kind == "truncated-flac":
        path = tmp_path / "truncated.flac"
        sf.write(path, tone(440, 1.0, 16000), 16000)
        path.write_bytes(path.read_bytes()[:200])
    return path  # "missing": never written


BAD_KINDS = ["corrupt", "empty", "zero-samples", "text", "folder", "missing", "truncated-flac"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_unreadable_audio_is_an_audio_error_naming_the_file(tmp_path, kind):
    path = _bad_file(tmp_path, kind)
    for read in (lambda: audio.load(path, 16000), lambda: audio.load(path, 8000, offset=0.0, duration=0.5)):
        with pytest.raises(AudioError) as e:
            read()
        assert str(path) in str(e.value)
    if kind in ("zero-samples", "truncated-flac"):
        audio.info(path)  # the header is fine (info reads nothing else); the samples are missing
        return
    with pytest.raises(AudioError) as e:
        audio.info(path)
    assert str(path) in str(e.value)


def test_folder_and_empty_file_say_what_they_are(tmp_path):
    with pytest.raises(AudioError, match="a folder, not an audio file"):
        audio.load(_bad_file(tmp_path, "folder"), 16000)
    with pytest.raises(AudioError, match="0 bytes"):
        audio.info(_bad_file(tmp_path, "empty"))


@pytest.mark.parametrize("samples, rate", [(1, 16000), (10, 16000), (10, 8000), (1, 48000), (3, 44100)])
def test_very_short_audio_gives_at_least_one_feature_frame(tmp_path, samples, rate):
    from asr.features import FeatureSettings, LogMel
    path = tmp_path / "short.wav"
    sf.write(path, 0.1 * np.ones(samples, dtype=np.float32), rate)
    wave = audio.load(path, 16000)
    assert wave.numel() >= 1
    feats = LogMel(FeatureSettings())(wave)
    assert feats.shape[0] >= 1 and torch.isfinite(feats).all()


# ---- one utterance: its segment (offset 0 included) or the whole file ----

def _ramp(tmp_path, seconds=2.0):
    data = (np.arange(int(seconds * 16000), dtype=np.float32) / (seconds * 16000)) - 0.5
    path = tmp_path / "ramp.wav"
    sf.write(path, data, 16000, subtype="FLOAT")
    return path, data


def test_load_utterance_segment_at_offset_zero(tmp_path):
    from asr.manifest import Utterance
    path, data = _ramp(tmp_path)
    seg = audio.load_utterance(Utterance("s", str(path), 0.5, "x", offset=0.0), 16000)
    np.testing.assert_array_equal(seg.numpy(), data[:8000])
    later = audio.load_utterance(Utterance("t", str(path), 0.25, "x", offset=1.0), 16000)
    np.testing.assert_array_equal(later.numpy(), data[16000:20000])


def test_load_utterance_whole_file_ignores_the_manifest_duration(tmp_path):
    from asr.manifest import Utterance
    path, data = _ramp(tmp_path)
    whole = audio.load_utterance(Utterance("w", str(path), 0.5, "x"), 16000)  # a rounded/wrong duration
    assert torch.equal(whole, audio.load(path, 16000))
    np.testing.assert_array_equal(whole.numpy(), data)


def test_load_utterance_errors_name_the_manifest_line(tmp_path):
    from asr import manifest
    (tmp_path / "bad.wav").write_text("not audio")
    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "a", "audio": "gone.wav", "duration": 1, "text": "x"}\n'
                    '{"id": "b", "audio": "bad.wav", "duration": 1, "text": "x", "offset": 0}\n')
    gone, bad = manifest.read(path)
    with pytest.raises(AudioError) as e:
        audio.load_utterance(gone, 16000)
    assert str(e.value).startswith(f"{path}:1: ") and "gone.wav: no such audio file" in str(e.value)
    assert "fix the path or drop the line with `asr check --fix`" in str(e.value)
    with pytest.raises(AudioError) as e:
        audio.load_utterance(bad, 16000)
    assert str(e.value).startswith(f"{path}:2: ") and "bad.wav: not a readable audio file" in str(e.value)
