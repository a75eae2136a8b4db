"""Segments: an utterance with an offset (0 included) is `duration` seconds of its file,
everywhere samples are read (features, training items, noise clips, check); one without
is the whole file, read exactly as before. Unreadable audio names the manifest line."""

import numpy as np
import pytest
import soundfile as sf
import torch

from asr import audio, manifest
from asr import check as chk
from asr.augment import AugmentSettings, WaveAugment
from asr.data import TrainDataset, compute_features, utterance_features
from asr.errors import AudioError
from asr.features import FeatureSettings, LogMel, Normalizer
from asr.manifest import Utterance
from asr.text import TextSettings
from asr.vocab import Vocabulary

RATE = 16000
FS = FeatureSettings()


@pytest.fixture
def two_seconds(tmp_path):
    """A 2 s file and a manifest: line 1 its first 0.5 s (offset 0), line 2 the whole file."""
    rng = np.random.default_rng(0)
    path = tmp_path / "wav" / "long.wav"
    path.parent.mkdir()
    sf.write(path, (0.1 * rng.standard_normal(2 * RATE)).astype(np.float32), RATE, subtype="FLOAT")
    m = tmp_path / "m.jsonl"
    manifest.write(m, [Utterance("seg0", str(path), 0.5, "yes", offset=0.0),
                       Utterance("whole", str(path), 2.0, "no")])
    return m


def test_offset_zero_is_read_as_a_segment(two_seconds):
    seg, whole = manifest.read(two_seconds)
    assert seg.offset == 0.0 and whole.offset is None
    logmel = LogMel(FS)
    assert utterance_features(seg, logmel).shape[0] == FS.frames(0.5)  # not the 2 s of the file
    assert utterance_features(whole, logmel).shape[0] == FS.frames(2.0)
    assert [f.shape[0] for f in compute_features([seg, whole], logmel)] == [FS.frames(0.5), FS.frames(2.0)]


def test_training_items_of_a_segment_and_of_a_whole_file(two_seconds):
    seg, whole = manifest.read(two_seconds)
    logmel = LogMel(FS)
    norm = Normalizer(torch.zeros(FS.n_mels), torch.ones(FS.n_mels))
    ds = TrainDataset([seg, whole], [[1], [2]], logmel, norm, None, None, seed=0)
    assert ds[0, 1][0].shape[0] == FS.frames(0.5)
    # A whole file is read whole, exactly as audio.load reads it (the manifest duration is not used).
    expected = logmel(audio.load(whole.audio, RATE))
    assert torch.equal(ds[1, 1][0], expected)


def test_noise_clip_at_offset_zero_is_its_segment(two_seconds, tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr("asr.augment.add_noise", lambda wave, noise, snr, g: seen.append(noise) or wave)
    noise_manifest = tmp_path / "noise.jsonl"
    seg, _ = manifest.read(two_seconds)
    manifest.write(noise_manifest, [seg])
    augment = WaveAugment(AugmentSettings(noise=str(noise_manifest), noise_prob=1.0), RATE)
    augment(torch.zeros(RATE), 1.0, torch.Generator().manual_seed(0))
    assert seen and seen[0].shape == (RATE // 2,)


def test_check_treats_offset_zero_as_a_segment(two_seconds, tmp_path):
    seg, whole = manifest.read(two_seconds)
    past = Utterance("past", seg.audio, 3.0, "yes", offset=0.0)  # 3 s from 0 in a 2 s file
    m = tmp_path / "check.jsonl"
    manifest.write(m, [seg, whole, past])
    report = chk.check([m], Vocabulary.build(["yes no"]), TextSettings(), FS, 3)
    found = {(f.id, f.code) for f in report.findings if f.level != "info"}
    assert ("past", "beyond-end") in found
    # The whole file and the segment at 0 are different audio; two segments at 0 are the same.
    assert ("whole", "duplicate-audio") not in found and ("past", "duplicate-audio") in found
    assert not any(uid == "seg0" for uid, _ in found)
    assert chk._frames_duration(seg, chk.probe(seg.audio)) == 0.5
    assert chk._frames_duration(whole, chk.probe(whole.audio)) == pytest.approx(2.0)


def test_missing_audio_names_the_manifest_line(tmp_path):
    m = tmp_path / "test.jsonl"
    m.write_text('{"id": "a", "audio": "wav/x.wav", "duration": 1, "text": "x"}\n', encoding="utf-8")
    (utt,) = manifest.read(m)
    logmel = LogMel(FS)
    norm = Normalizer(torch.zeros(FS.n_mels), torch.ones(FS.n_mels))
    reads = [lambda: utterance_features(utt, logmel), lambda: compute_features([utt], logmel),
             lambda: TrainDataset([utt], [[1]], logmel, norm, None, None, seed=0)[0, 1]]
    for read in reads:
        with pytest.raises(AudioError) as e:
            read()
        message = str(e.value)
        assert message.startswith(f"{m}:1: ") and "x.wav: no such audio file" in message
        assert "asr check --fix" in message


def test_missing_audio_in_a_loader_worker_is_the_same_one_line_error(tmp_path):
    m = tmp_path / "test.jsonl"
    m.write_text('{"id": "a", "audio": "wav/x.wav", "duration": 1, "text": "x"}\n', encoding="utf-8")
    with pytest.raises(AudioError) as e:
        compute_features(manifest.read(m), LogMel(FS), workers=1)
    assert str(e.value).startswith(f"{m}:1: ") and "Traceback" not in str(e.value)
