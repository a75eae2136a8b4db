"""From manifests to batches: features per utterance, length-aware batching, collation.

A `Batch` carries padded tensors together with their lengths:
features (B, T, n_mels) float32 with feature_lengths (B,) in frames, and
targets (B, L) token ids (0-padded) with target_lengths (B,).
"""

from __future__ import annotations

import random
from typing import Callable, NamedTuple, Sequence

import torch
from torch.nn.utils.rnn import pad_sequence

from asr import audio
from asr.augment import WaveAugment
from asr.errors import AsrError
from asr.features import LogMel, Normalizer, SpecAugment, UtteranceNormalizer
from asr.manifest import Utterance


class Batch(NamedTuple):
    features: torch.Tensor
    feature_lengths: torch.Tensor
    targets: torch.Tensor
    target_lengths: torch.Tensor
    ids: list[str]


def utterance_features(utt: Utterance, logmel: LogMel) -> torch.Tensor:
    """Log-mel features (frames, n_mels) of one utterance: its segment, or the
    whole file when it has no offset (see `audio.load_utterance`)."""
    return logmel(audio.load_utterance(utt, logmel.settings.sample_rate))


class _FeatureDataset(torch.utils.data.Dataset):
    def __init__(self, utterances: Sequence[Utterance], logmel: LogMel):
        self.utterances, self.logmel = utterances, logmel

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, i: int) -> torch.Tensor | AsrError:
        # An error is returned, not raised: raised in a loader worker it would
        # reach the caller wrapped in the worker's traceback text.
        try:
            return utterance_features(self.utterances[i], self.logmel)
        except AsrError as e:
            return e


def compute_features(
    utterances: Sequence[Utterance], logmel: LogMel, workers: int = 0,
    on_item: Callable[[], None] = lambda: None,
) -> list[torch.Tensor]:
    """Features of every utterance, in order, with `workers` loader processes.

    An unreadable audio file is an AudioError naming its manifest line."""
    loader = torch.utils.data.DataLoader(
        _FeatureDataset(utterances, logmel), batch_size=None, num_workers=workers,
        prefetch_factor=8 if workers else None,
    )
    out = []
    for feats in loader:
        if isinstance(feats, AsrError):
            raise feats
        out.append(feats)
        on_item()
    return out


def item_seed(seed: int, epoch: int, index: int) -> int:
    """A seed for one utterance in one epoch, independent of workers and resumes."""
    return (seed * 1_000_003 + epoch) * 1_000_033 + index


class TrainDataset(torch.utils.data.Dataset):
    """Item (index, epoch) -> (features (frames, n_mels), token ids, utterance id).

    Features are computed on the fly (in the loader's workers when there are
    any): audio -> speed perturbation / noise -> log-mel -> normalisation ->
    SpecAugment, every random choice drawn from a generator seeded by
    `item_seed(seed, epoch, index)`. With `cache`, log-mels are kept per
    (utterance, speed) in this process (not with additive noise, which
    differs every epoch): worth it for small corpora with workers=0.
    """

    def __init__(self, utterances: Sequence[Utterance], targets: Sequence[Sequence[int]], logmel: LogMel,
                 normalizer: Normalizer | UtteranceNormalizer, wave_augment: WaveAugment | None, spec_augment: SpecAugment | None,
                 seed: int, cache: bool = False):
        self.utterances, self.targets, self.logmel, self.normalizer = utterances, targets, logmel, normalizer
        self.wave_augment, self.spec_augment, self.seed = wave_augment, spec_augment, seed
        noisy = wave_augment is not None and bool(wave_augment.noises)
        self.cache: dict | None = {} if cache and not noisy else None

    def __len__(self) -> int:
        return len(self.utterances)

    def speed(self, index: int, epoch: int) -> float:
        """The speed factor item (index, epoch) is played at (known before its audio is read)."""
        return self._speed(self._generator(index, epoch))

    def _generator(self, index: int, epoch: int) -> torch.Generator:
        return torch.Generator().manual_seed(item_seed(self.seed, epoch, index))

    def _speed(self, g: torch.Generator) -> float:
        """The first draw from an item's generator: its speed."""
        return self.wave_augment.choose_speed(g) if self.wave_augment else 1.0

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, Sequence[int], str]:
        index, epoch = key
        utt = self.utterances[index]
        g = self._generator(index, epoch)
        speed = self._speed(g)
        feats = self.cache.get((index, speed)) if self.cache is not None else None
        if feats is None:
            wave = audio.load_utterance(utt, self.logmel.settings.sample_rate)
            if self.wave_augment is not None:
                wave = self.wave_augment(wave, speed, g)
            feats = self.normalizer(self.logmel(wave))
            if self.cache is not None:
                self.cache[(index, speed)] = feats
        if self.spec_augment is not None:
            feats = self.spec_augment(feats, g)
        return feats, self.targets[index], utt.id


def collate_items(items: Sequence[tuple[torch.Tensor, Sequence[int], str]]) -> Batch:
    """collate() for a list of TrainDataset items."""
    return collate([f for f, _, _ in items], [t for _, t, _ in items], [u for _, _, u in items])


def collate(features: Sequence[torch.Tensor], targets: Sequence[Sequence[int]], ids: Sequence[str]) -> Batch:
    """Pad a list of (frames, n_mels) tensors and token-id lists into a Batch."""
    padded, lengths = pad_targets(targets)
    return Batch(
        features=pad_sequence(list(features), batch_first=True),
        feature_lengths=torch.tensor([f.shape[0] for f in features], dtype=torch.long),
        targets=padded, target_lengths=lengths, ids=list(ids),
    )


def pad_targets(targets: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token-id lists -> padded (batch, max tokens) (at least one column) and lengths (batch,)."""
    padded = (pad_sequence([torch.tensor(t, dtype=torch.long) for t in targets], batch_first=True)
              if any(len(t) for t in targets) else torch.zeros(len(targets), 1, dtype=torch.long))
    return padded, torch.tensor([len(t) for t in targets], dtype=torch.long)


def frame_batches(
    lengths: Sequence[int], max_frames: int, max_batch: int,
    shuffle: bool = False, seed: int = 0, bucket_size: int = 0,
) -> list[list[int]]:
    """Group utterance indices into batches of at most `max_frames` padded frames.

    Utterances are sorted by length (within shuffled buckets of `bucket_size`
    utterances when shuffling, all at once otherwise) so a batch pads little;
    with `shuffle` the batch order is random too. Deterministic for a seed.
    An utterance longer than `max_frames` gets a batch of its own.
    """
    order = list(range(len(lengths)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(order)
    size = bucket_size or len(order) or 1
    batches: list[list[int]] = []
    for start in range(0, len(order), size):
        bucket = sorted(order[start : start + size], key=lambda i: lengths[i])
        current: list[int] = []
        for i in bucket:
            # Sorted ascending, so utterance i is the longest of the batch so far.
            if current and (lengths[i] * (len(current) + 1) > max_frames or len(current) >= max_batch):
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
    if shuffle:
        rng.shuffle(batches)
    return batches


def ctc_frames_needed(targets: Sequence[int]) -> int:
    """Fewest output frames CTC needs for a target: one per token plus one
    blank between each pair of equal neighbours ("好棒棒" needs 4)."""
    return len(targets) + sum(1 for a, b in zip(targets, targets[1:]) if a == b)
