"""The only way audio becomes text: model record -> features -> model -> decoder -> text.

    rec = Recognizer.load("exp/digits/model.pt", device="cpu")
    results = rec.recognize([rec.features(wave)])     # one Result per input
    results[0].text, results[0].words                 # words with start/end in seconds

Training's dev decoding, `evaluate`, `transcribe` and `align` all go through a
Recognizer, so they cannot disagree on features, normalisation or decoding.
The decoder is built once, from the record's decoding settings or those given.
Frames become seconds here and nowhere else (`frame_seconds`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Sequence

import torch

from asr import record as model_record
from asr.data import collate, frame_batches, utterance_features
from asr.decoding import Decoder, DecodingSettings, GreedyDecoder, Hypothesis
from asr.errors import ConfigError
from asr.features import LogMel
from asr.manifest import Utterance
from asr.model import AcousticModel
from asr.record import ModelRecord
from asr.text import normalize


@dataclass
class Word:
    """A recognised word, where it was heard (seconds from the start of the input) and how sure
    the model was: the mean posterior probability of its tokens (0-1; None when unknown)."""

    word: str
    start: float
    end: float
    confidence: float | None = None

    def to_dict(self) -> dict:
        found = {"word": self.word, "start": round(self.start, 3), "end": round(self.end, 3)}
        if self.confidence is not None:
            found["confidence"] = round(self.confidence, 3)
        return found


@dataclass
class Result:
    """The text of one input, its words with times, the best hypothesis it came from, and the
    n-best list with the text of each (best first)."""

    text: str
    words: list[Word]
    best: Hypothesis
    nbest: list[Hypothesis] = field(default_factory=list)
    nbest_texts: list[str] = field(default_factory=list)


class Recognizer:
    """A trained model ready to use, with its features, normalisation and decoder."""

    def __init__(self, record: ModelRecord, device: str | torch.device = "cpu",
                 decoding: DecodingSettings | None = None, model: AcousticModel | None = None,
                 base: Path | None = None, hotwords: dict[str, float] | None = None):
        """`decoding`: instead of the record's settings. `model`: a live model to use instead of
        building one from the record's weights (training's dev decoding). `base`: the folder
        relative LM and lexicon paths are found in (the model file's). `hotwords`: {word or
        phrase: boost} for beam search with a lexicon (asr.hotwords)."""
        self.record = record
        self.device = torch.device(device)
        self.model = model if model is not None else record.build_model(self.device)
        self.logmel = LogMel(record.features)
        self.decoding = decoding or record.decoding
        self.decoder: Decoder = make_decoder(self.decoding, record, base or Path("."), hotwords)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu", hotwords: dict[str, float] | None = None,
             threads: int | None = None, **decoding) -> "Recognizer":
        """From a model file: a record (model.pt) or an export (model.onnx, run by onnxruntime on
        `threads` threads); `decoding` keys override the record's decoding settings (paths given
        here are taken as they are: make them absolute or relative to the working folder)."""
        model = None
        if Path(path).suffix.lower() == ".onnx":
            from asr.onnxmodel import load as load_onnx
            record, model = load_onnx(path, threads)
        else:
            record = model_record.load(path)
        decoding = {k: v for k, v in decoding.items() if v is not None}
        if decoding.get("decoder") == "greedy":  # the record's LM and lexicon are for its beam search
            decoding = {"lm": "", "lexicon": "", "nbest": 1, **decoding}
        settings = replace(record.decoding, **decoding) if decoding else record.decoding
        try:
            settings.check()
        except ConfigError as e:
            raise ConfigError(f"{e} (for {path})") from None
        return cls(record, device, settings, model=model, base=Path(path).parent, hotwords=hotwords)

    # The parts, by name, for callers that need one of them.
    @property
    def vocab(self):
        return self.record.vocab

    @property
    def text_settings(self):
        return self.record.text

    @property
    def feature_settings(self):
        return self.record.features

    @property
    def normalizer(self):
        return self.record.normalizer

    @property
    def frame_seconds(self) -> float:
        """Seconds per model output frame (the feature hop times the subsampling)."""
        return self.record.frame_seconds

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """(samples,) at the model's sample rate -> normalised (frames, n_mels)."""
        return self.normalizer(self.logmel(wave))

    def utterance_features(self, utt: Utterance) -> torch.Tensor:
        """Normalised (frames, n_mels) of a manifest utterance (its segment, or the whole file)."""
        return self.normalizer(utterance_features(utt, self.logmel))

    @torch.no_grad()
    def posteriors(self, features: Sequence[torch.Tensor], max_frames: int = 60000
                   ) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor]]:
        """Batches of (input indices, log_probs (B, T', V), output lengths (B,)) for normalised
        (frames, n_mels) features, batched by length; the model is in eval mode meanwhile."""
        was_training = self.model.training
        self.model.eval()
        try:
            lengths = [f.shape[0] for f in features]
            for idx in frame_batches(lengths, max_frames=max_frames, max_batch=64):
                batch = collate([features[i] for i in idx], [[] for _ in idx], [str(i) for i in idx])
                log_probs, out_lengths = self.model(batch.features.to(self.device), batch.feature_lengths)
                yield idx, log_probs, out_lengths
        finally:
            self.model.train(was_training)

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[Result]:
        """Results of one batch of log-probabilities (B, T', V) with lengths (B,)."""
        return [self.result(n_best, log_probs[b, : int(lengths[b])])
                for b, n_best in enumerate(self.decoder(log_probs, lengths))]

    def recognize(self, features: Sequence[torch.Tensor], timestamps: bool = False) -> list[Result]:
        """Results of normalised feature tensors, in input order. With `timestamps`, each word's
        start and end come from a forced alignment of the best hypothesis with the posteriors
        (asr.align: word spans widened into the blanks around them, within 0.1 s of the truth on
        synthetic speech) instead of the frames where the decoder emitted its tokens."""
        results: list[Result | None] = [None] * len(features)
        for idx, log_probs, lengths in self.posteriors(features):
            for b, (i, result) in enumerate(zip(idx, self.decode(log_probs, lengths))):
                if timestamps and result.best.tokens:
                    result.words = self._aligned_words(log_probs[b, : int(lengths[b])], result)
                results[i] = result
        return results  # type: ignore[return-value]

    def _aligned_words(self, log_probs: torch.Tensor, result: Result) -> list[Word]:
        """The words of `result` timed by forced alignment (log_probs (T', V) of its input); the
        decoder's frames when the alignment fails."""
        from asr.align import PAD_FRAMES, AlignError, align

        try:
            spans = align(log_probs.float().cpu(), result.best.tokens, self.vocab.blank)
        except AlignError:
            return result.words
        words = self._timed(result.best, spans, pad=PAD_FRAMES, frames=log_probs.shape[0])
        return words if len(words) == len(result.words) else result.words

    def decode_features(self, features: Sequence[torch.Tensor]) -> list[str]:
        """Texts of normalised (frames, n_mels) feature tensors, in input order."""
        return [r.text for r in self.recognize(features)]

    def align(self, features: torch.Tensor, text: str) -> Alignment:
        """Force-align normalised (frames, n_mels) features with a transcript (normalised here as
        the model's training text was): where each word and token is, in seconds. An AlignError
        (asr.align) when the text cannot be aligned: a character the model has no token for,
        or more tokens than the audio has frames."""
        from asr.align import AlignError, align, word_spans

        normalized = normalize(text, self.text_settings)
        missing = self.vocab.unknown(normalized)
        if missing:
            raise AlignError(f"the text has characters the model has no token for: "
                             f"{', '.join(repr(c) for c in sorted(missing))}")
        (_, log_probs, lengths), = self.posteriors([features])
        n = int(lengths[0])
        lp = log_probs[0, :n].float().cpu()
        spans = align(lp, self.vocab.encode(normalized), self.vocab.blank)
        words = word_spans(spans, self.vocab.tokens, self.vocab.separator, self.vocab.word_start, frames=n)
        return Alignment(normalized, words, spans, self.frame_seconds, lp, features)

    def result(self, n_best: list[Hypothesis], log_probs: torch.Tensor | None = None) -> Result:
        """The Result of one input's n-best list (best first; empty: no text); `log_probs`
        (T', V) of the input give its words' confidences."""
        best = n_best[0] if n_best else Hypothesis([], [], float("-inf"))
        return Result(self.text(best), self.words(best, log_probs), best, list(n_best),
                      [self.text(h) for h in n_best])

    @property
    def joiner(self) -> str:
        """What goes between words in a text: a space, or nothing (Mandarin characters)."""
        return " " if self.vocab.separator or self.vocab.word_start else ""

    def text(self, hyp: Hypothesis) -> str:
        """A hypothesis's text: its words when the decoder knows them, else its tokens'."""
        if not hyp.words:
            return self.vocab.decode(hyp.tokens)
        return self.joiner.join(hyp.words)

    def words(self, hyp: Hypothesis, log_probs: torch.Tensor | None = None) -> list[Word]:
        """The words of a hypothesis with start and end times: a word starts at its first token's
        frame and ends one frame after its last (CTC emits a token on a spike of one frame).
        Tokens are grouped into words as the aligner groups them (asr.align.word_spans). With the
        input's `log_probs` (T', V), each word's confidence is the mean posterior of its tokens at
        the frames they were emitted."""
        from asr.align import TokenSpan

        if log_probs is not None and hyp.tokens:
            lp = log_probs.detach().float().cpu()
            frames = [min(f, lp.shape[0] - 1) for f in hyp.frames]
            scores = lp[frames, hyp.tokens].exp().tolist()
        else:
            scores = None
        spans = [TokenSpan(token, frame, frame + 1, scores[i] if scores else 0.0)
                 for i, (token, frame) in enumerate(zip(hyp.tokens, hyp.frames))]
        return self._timed(hyp, spans, pad=0, scored=scores is not None)

    def _timed(self, hyp: Hypothesis, spans: list, pad: int, frames: int | None = None,
               scored: bool = True) -> list[Word]:
        """`hyp`'s words with seconds, from its token spans in output frames (see
        asr.align.word_spans for `pad` and `frames`); the decoder's words when it gave them."""
        from asr.align import word_spans

        found = word_spans(spans, self.vocab.tokens, self.vocab.separator, self.vocab.word_start, pad=pad,
                           frames=frames)
        texts = hyp.words if len(hyp.words) == len(found) else [w.word for w in found]
        step = self.frame_seconds
        return [Word(text, w.start * step, w.end * step, w.score if scored else None) for text, w in zip(texts, found)]


@dataclass
class Alignment:
    """A forced alignment of one input with its text: word and token spans in output frames
    (`frame_seconds` each), the log-probabilities (T', V) and the features (frames, n_mels)."""

    text: str
    words: list
    tokens: list
    frame_seconds: float
    log_probs: torch.Tensor
    features: torch.Tensor

    def to_dict(self, token_strings: Sequence[str]) -> dict:
        return {"text": self.text, "words": [w.to_dict(self.frame_seconds) for w in self.words],
                "tokens": [t.to_dict(self.frame_seconds, token_strings) for t in self.tokens]}


def make_decoder(settings: DecodingSettings, record: ModelRecord, base: Path,
                 hotwords: dict[str, float] | None = None) -> Decoder:
    """The decoder the settings ask for, built once: an LM is loaded and a lexicon read here,
    not per batch. `base`: the folder relative LM and lexicon paths are found in."""
    if settings.decoder == "greedy":
        if hotwords:
            raise ConfigError("hotwords need beam search (--decoder beam) with a lexicon (--lexicon)")
        return GreedyDecoder(record.vocab.blank)
    from asr.beam import BeamDecoder, BeamSettings

    where = lambda p: (base / p) if p and not Path(p).is_absolute() else (Path(p) if p else None)  # noqa: E731
    for name, path in (("LM", where(settings.lm)), ("lexicon", where(settings.lexicon))):
        if path is not None and not path.is_file():
            raise ConfigError(f"{path}: no such {name} file (build one with `asr lm build`)")
    beam = BeamSettings(beam_size=settings.beam_size, beam_size_token=settings.beam_size_token,
                        beam_threshold=settings.beam_threshold, lm_weight=settings.lm_weight,
                        word_score=settings.word_score, nbest=settings.nbest,
                        unk_score=float("-inf") if settings.unk_score is None else settings.unk_score)
    vocab = record.vocab
    return BeamDecoder(vocab.tokens, vocab.blank, vocab.separator, vocab.word_start, beam, lm=where(settings.lm),
                       lexicon=where(settings.lexicon), hotwords=hotwords, spell=vocab.spell)
