"""The synthesised digits corpus: manifests, audio, held-out voices, determinism."""

from pathlib import Path

import pytest
import soundfile as sf

from asr import manifest
from asr.corpora import digits
from asr.errors import AsrError

SPLITS = ("train", "dev", "test")
WORDS = {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
SIZES = dict(train=6, dev=2, test=3)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """The same seed twice (2 worker processes, then in-process) and another seed."""
    root = tmp_path_factory.mktemp("digits")
    return {
        "a": digits.prepare(root / "a", seed=0, workers=2, **SIZES),
        "b": digits.prepare(root / "b", seed=0, workers=1, **SIZES),
        "c": digits.prepare(root / "c", seed=1, workers=1, **SIZES),
    }


def test_manifests_point_to_matching_16k_wavs(corpora):
    paths = corpora["a"]
    assert set(paths) == set(SPLITS)
    for split in SPLITS:
        utterances = manifest.read(paths[split])
        assert len(utterances) == SIZES[split]
        for u in utterances:
            assert Path(u.audio).is_file()
            assert Path(u.audio).parent == paths[split].parent / "wav" / split
            info = sf.info(u.audio)
            assert info.samplerate == 16000 and info.channels == 1
            assert abs(info.frames / info.samplerate - u.duration) < 0.010
            assert 0.3 < u.duration < 8.0
            data, _ = sf.read(u.audio)
            assert abs(data).max() > 0.1


def test_texts_use_only_digit_words(corpora):
    for split in SPLITS:
        for u in manifest.read(corpora["a"][split]):
            words = u.text.split(" ")
            assert 1 <= len(words) <= 7 and set(words) <= WORDS


def test_test_speakers_are_held_out(corpora):
    speakers = {s: {u.speaker for u in manifest.read(corpora["a"][s])} for s in SPLITS}
    assert all(speakers.values())
    assert not speakers["test"] & (speakers["train"] | speakers["dev"])


def test_same_seed_gives_identical_files_whatever_the_workers(corpora):
    for split in SPLITS:
        a, b = corpora["a"][split], corpora["b"][split]
        assert a.read_bytes() == b.read_bytes()
        for ua, ub in zip(manifest.read(a), manifest.read(b)):
            assert Path(ua.audio).read_bytes() == Path(ub.audio).read_bytes()


def test_different_seed_gives_different_texts(corpora):
    texts = {k: [u.text for u in manifest.read(corpora[k]["train"])] for k in ("a", "c")}
    assert texts["a"] != texts["c"]


def test_rerun_overwrites(tmp_path):
    digits.prepare(tmp_path, train=3, dev=1, test=1, workers=1)
    paths = digits.prepare(tmp_path, train=2, dev=1, test=1, workers=1)
    assert len(manifest.read(paths["train"])) == 2
    wavs = sorted(p.name for p in (tmp_path / "wav" / "train").iterdir())
    assert wavs == ["train-00000.wav", "train-00001.wav"]  # stale audio removed


def test_source_folder_is_refused(tmp_path):
    with pytest.raises(AsrError, match="source"):
        digits.prepare(tmp_path, src=tmp_path, train=1, dev=1, test=1)
