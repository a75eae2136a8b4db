"""A synthetic Mandarin corpus: digit strings and short phrases spoken by eSpeak NG's `cmn` voice.

Nothing is downloaded. An utterance is either a string of 1-7 of the digits
零一二三四五六七八九 (a digit repeats the one before it with probability
REPEAT_PROBABILITY, "三三") or one or two phrases of `PHRASES`, written without
spaces. Half the phrase draws come from `PRAISE`, the 好棒 / 好棒棒 family, and
the first utterances of every split are `KEY_PHRASES` in turn, so that each
split of at least four utterances holds 好棒, 好棒棒, 你好棒 and 你好棒棒 whatever
the seed. Those pairs differ only by a doubled character, which CTC can only
write with a blank between the two: the corpus exists to show that it does.

Voices, prosody, padding, noise, level, held-out test voices and the rendering
(fixed shards from a freshly reset eSpeak, so the same seed gives the same
bytes whatever the number of workers) are the digits corpus's
(`asr.corpora.digits`), with the language `cmn` instead of English. eSpeak's
Mandarin dictionary reads every character used here (the neutral tone of
谢谢, 妈妈 included), and a doubled character is spoken twice: 好棒棒 lasts
1.04 s against 0.68 s for 好棒 at 150 words per minute.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from asr import manifest
from asr.corpora import digits
from asr.errors import AsrError

LANGUAGE = "cmn"
DIGITS = "零一二三四五六七八九"
KEY_PHRASES = ("好棒", "好棒棒", "你好棒", "你好棒棒")
PRAISE = KEY_PHRASES + ("真好棒", "真好棒棒", "姐姐好棒", "姐姐好棒棒", "今天天气好棒", "今天天气好棒棒")
PHRASES = (
    "谢谢", "谢谢你", "谢谢妈妈", "看看", "看看天", "天天", "天天开心", "妈妈", "妈妈早上好", "好好",
    "好好看", "好好看看", "常常", "我常常看看", "你好", "你好吗", "我很好", "姐姐", "开灯", "关灯",
    "打开", "关上", "早上好", "再见", "晚安", "今天天气很好",
)
SPLITS = ("train", "dev", "test")
DIGIT_SHARE = 0.35  # share of utterances that are digit strings
PRAISE_SHARE = 0.5  # share of phrase draws from PRAISE
TWO_PHRASES = 0.25  # chance that a phrase utterance holds a second phrase
REPEAT_PROBABILITY = 0.25  # chance that a digit repeats the one before it


def prepare(
    out: Path,
    src: Path | None = None,
    *,
    train: int = 2000,
    dev: int = 100,
    test: int = 200,
    seed: int = 0,
    sample_rate: int = 16000,
    workers: int = 2,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, Path]:
    """Synthesise the Mandarin corpus under `out`; return the manifest path of each split.

    Writes `out/wav/<split>/<id>.wav` at `sample_rate` Hz, then `out/<split>.jsonl`
    (manifests last, so a manifest present means its split is complete).
    `src` must be None: this corpus needs no source. Re-running overwrites.
    """
    if src is not None:
        raise AsrError("the cmn corpus is synthesised and takes no source folder; omit it")
    counts = {"train": train, "dev": dev, "test": test}
    if any(n < 0 for n in counts.values()) or workers < 1 or sample_rate <= 0:
        raise AsrError("cmn: utterance counts must be >= 0, workers >= 1, sample_rate > 0")
    out = Path(out)
    manifests = {split: out / f"{split}.jsonl" for split in SPLITS}
    for split in SPLITS:
        manifests[split].unlink(missing_ok=True)
        shutil.rmtree(out / "wav" / split, ignore_errors=True)
    plans = {split: _plan(split, n, seed, out, sample_rate) for split, n in counts.items()}
    size = digits.SHARD_SIZE
    shards = [plan[i:i + size] for plan in plans.values() for i in range(0, len(plan), size)]
    log(f"cmn: synthesising {sum(counts.values())} utterances with {workers} worker(s)")
    frames = digits._render_all(shards, workers, lambda s: log(s.replace("digits:", "cmn:", 1)))
    for split in SPLITS:
        utterances = [
            manifest.Utterance(id=j.id, audio=j.path, duration=frames[j.id] / sample_rate,
                               text=j.text, speaker=j.voice)
            for j in plans[split]
        ]
        manifest.write(manifests[split], utterances)
        log(f"cmn: wrote {manifests[split]} ({len(utterances)} utterances)")
    return manifests


def _plan(split: str, count: int, seed: int, out: Path, sample_rate: int) -> list[digits._Job]:
    """Draw every random choice of a split from (seed, split), independent of other splits."""
    rng = np.random.default_rng([seed, SPLITS.index(split), 86])  # 86: not the digits corpus's draws
    variants = digits.TEST_VARIANTS if split == "test" else digits.TRAIN_VARIANTS
    jobs = []
    for i in range(count):
        uid = f"{split}-{i:05d}"
        variant = variants[rng.integers(len(variants))]
        text = text_for(rng)
        jobs.append(digits.job(rng, uid, KEY_PHRASES[i] if i < len(KEY_PHRASES) else text,
                               f"{LANGUAGE}+{variant}" if variant else LANGUAGE,
                               out / "wav" / split / f"{uid}.wav", sample_rate))
    return jobs


def text_for(rng: np.random.Generator) -> str:
    """One utterance's transcript: a digit string, or one or two phrases (no spaces)."""
    if rng.random() < DIGIT_SHARE:
        spoken: list[str] = []
        for _ in range(int(rng.integers(1, 8))):
            repeat = spoken and rng.random() < REPEAT_PROBABILITY
            spoken.append(spoken[-1] if repeat else DIGITS[int(rng.integers(10))])
        return "".join(spoken)
    phrases = [_phrase(rng)]
    if rng.random() < TWO_PHRASES:
        phrases.append(_phrase(rng))
    return "".join(phrases)


def _phrase(rng: np.random.Generator) -> str:
    pool = PRAISE if rng.random() < PRAISE_SHARE else PHRASES
    return pool[int(rng.integers(len(pool)))]
