"""CTC beam search with an n-gram LM, a lexicon and hotwords, behind the decoder interface.

    decoder = BeamDecoder(vocab.tokens, blank=0, separator="|", word_start=None,
                          settings=BeamSettings(beam_size=50, lm_weight=0.5),
                          lm="lm.arpa", lexicon="lexicon.txt", hotwords={"kubernetes": 6.0})
    n_best = decoder(log_probs, lengths)      # as asr.decoding.GreedyDecoder: list[list[Hypothesis]]

The search is flashlight's (the decoder torchaudio's `ctc_decoder` wraps),
built from flashlight's own classes so that the word boundary, the lexicon
trie and the LM are ours to choose. Built once: the LM is loaded and the
lexicon trie made in the constructor, then every call reuses them (one call at
a time: a decoder is not thread-safe).

Two modes:

* With a lexicon, words are spelt in the model's tokens (asr.lexicon) and only
  lexicon words can come out (plus unknown words when `unk_score` > -inf). The
  LM is a word LM: it scores each completed word. `Hypothesis.words` are the
  decoder's words.
* Without one (lexicon-free), any token sequence can come out and the LM is
  scored on every token, so it must be a token-level LM: sentences spelt as
  tokens ("h e l l o | w o r l d", "▁he llo ▁wor ld", "你 好"). A word LM
  there calls every token <unk>, or, where letters are words (AN4 spells
  them), scores letters as one-letter words and `|` as <unk>: on the bench's
  posteriors that changed 49 of 100 best paths while knowing no word. Such a
  pairing is refused when the decoder is built (`_check_lm_level`), and so is
  a token LM with a lexicon. `Hypothesis.words` are read off the tokens.

Word boundaries. Flashlight has one "silence" token that may stand between
words of a lexicon decode. A character vocabulary's separator (`|`) is that
token, and in the lexicon trie every word ends with it (the file's spellings
need not: asr.lexicon drops a trailing one), so two words are never read out of
letters with no `|` between them ("thecat" is not "the cat"). The end of an
utterance closes its last word: the decoder sees one extra frame where `|` is
certain, and that frame is not part of any hypothesis. Vocabularies without a
separator get a stand-in silence token one past the last real one. Flashlight
completes a word on its last token and then, between words, can only stay on
silence, so a word whose last token spans two frames ("棒 棒") would have no
way to spend the second one. The stand-in therefore costs, at each frame, what
repeating the previous frame's best token costs (and is impossible after a
blank frame, see `_NEVER`): the repeat passes as the same token going on, and
the stand-in's frames are dropped when a path is read. BPE words are then told
apart by their "▁"-marked first pieces, and Mandarin words (no mark at all) by
the lexicon alone, the LM choosing the segmentation. Separators are kept in
`Hypothesis.tokens` where the model emitted them, as the greedy decoder keeps
them.

Hotwords: their words go into the lexicon (spelt with `spell`, else
asr.lexicon's greedy speller) and their boosts into a copy of the LM
(asr.hotwords.boosted_arpa, so an ARPA file, or none); they need a lexicon.

GPU: torchaudio's `cuda_ctc_decoder` (beam search without an LM) is not used
here; this decoder runs on CPU and moves log-probabilities there.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from flashlight.lib.text.decoder import (
    CriterionType,
    LexiconDecoder,
    LexiconDecoderOptions,
    LexiconFreeDecoder,
    LexiconFreeDecoderOptions,
    SmearingMode,
    Trie,
    ZeroLM,
)
from flashlight.lib.text.dictionary import Dictionary

from asr.decoding import Hypothesis
from asr.errors import ConfigError
from asr.hotwords import arpa_vocabulary, boosted_arpa
from asr.lexicon import Speller, greedy_speller, read_lexicon

try:
    from flashlight.lib.text.decoder.kenlm import KenLM
except ImportError:  # a flashlight-text built without KenLM
    KenLM = None

UNK = "<unk>"
_NEVER = -1e30  # the stand-in silence token's log-probability: finite, so no inf - inf
_LM_SPECIALS = {"<s>", "</s>", UNK}


@dataclass(frozen=True)
class BeamSettings:
    """How wide the search is and how the LM and words are weighed (flashlight's options).

    beam_size: hypotheses kept per frame. beam_size_token: tokens tried per frame, the most
    likely first (None = all). beam_threshold: hypotheses further than this below the best
    (in score units: nats plus weighted LM) are dropped. lm_weight: the LM's weight (the LM
    gives log10 probabilities). word_score: added per word (against the LM's bias to few,
    long words); lexicon decoding only. unk_score: added per word outside the lexicon
    (-inf: none can come out); lexicon decoding only, and by flashlight's rules such a word
    is the start of a lexicon word's spelling ("ca" of "cat"), not any spelling, and ends
    on its last token's first frame: of limited use. sil_score: added per word separator.
    nbest: hypotheses returned per utterance. log_add: merge paths of one hypothesis by
    log-sum-exp instead of max (the CTC sum over alignments; slightly slower).
    """

    beam_size: int = 50
    beam_size_token: int | None = None
    beam_threshold: float = 25.0
    lm_weight: float = 0.5
    word_score: float = 0.0
    unk_score: float = float("-inf")
    sil_score: float = 0.0
    nbest: int = 1
    log_add: bool = False

    def check(self) -> None:
        """Raise ConfigError naming the first setting out of its range."""
        if self.beam_size < 1:
            raise ConfigError(f"decoding.beam_size must be >= 1, got {self.beam_size}")
        if self.beam_size_token is not None and self.beam_size_token < 1:
            raise ConfigError(f"decoding.beam_size_token must be >= 1 or None (all tokens), got {self.beam_size_token}")
        if not (math.isfinite(self.beam_threshold) and self.beam_threshold > 0):
            raise ConfigError(f"decoding.beam_threshold must be a finite number > 0, got {self.beam_threshold}")
        if not (math.isfinite(self.lm_weight) and self.lm_weight >= 0):
            raise ConfigError(f"decoding.lm_weight must be a finite number >= 0, got {self.lm_weight}")
        for name in ("word_score", "sil_score"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"decoding.{name} must be a finite number, got {getattr(self, name)}")
        if math.isnan(self.unk_score) or self.unk_score == float("inf"):
            raise ConfigError(f"decoding.unk_score must be a finite number or -inf (no unknown words), "
                              f"got {self.unk_score}")
        if self.nbest < 1:
            raise ConfigError(f"decoding.nbest must be >= 1, got {self.nbest}")
        if self.nbest > self.beam_size:
            raise ConfigError(f"decoding.nbest ({self.nbest}) cannot exceed decoding.beam_size ({self.beam_size})")
        if not isinstance(self.log_add, bool):
            raise ConfigError(f"decoding.log_add must be true or false, got {self.log_add!r}")


class BeamDecoder:
    """Flashlight CTC beam search over a model's tokens; see the module docstring.

    tokens: the model's token strings (id = position); blank: the blank's id. separator: the
    word-separator token ("|") or None; word_start: the mark glued to a word's first token
    ("▁") or None. lm: an ARPA file or KenLM binary (word-level with a lexicon, token-level
    without). lexicon: a lexicon file (asr.lexicon). hotwords: {word or phrase: boost}
    (asr.hotwords; needs a lexicon). spell: how hotwords outside the lexicon are spelt
    (word -> tokens or None); default: asr.lexicon.greedy_speller.
    """

    def __init__(self, tokens: Sequence[str], blank: int, separator: str | None, word_start: str | None,
                 settings: BeamSettings = BeamSettings(), lm: str | Path | None = None,
                 lexicon: str | Path | None = None, hotwords: dict[str, float] | None = None,
                 spell: Speller | None = None):
        settings.check()
        self.tokens = list(tokens)
        self.blank = blank
        self.settings = settings
        self._check_vocabulary(separator, word_start)
        self.separator, self.word_start = separator, word_start
        self._ids = {t: i for i, t in enumerate(self.tokens)}
        self._sep_id = self._ids[separator] if separator is not None else None
        # Flashlight's silence: the separator, else a stand-in id past the last token.
        self._sil = self._sep_id if self._sep_id is not None else len(self.tokens)
        self.lm_path = Path(lm) if lm is not None else None
        self._boosted = bool(hotwords)
        if lexicon is None:
            if hotwords:
                raise ConfigError("hotwords need a lexicon (lexicon-constrained decoding): give one, "
                                  "e.g. written by asr.lexicon.write_lexicon from the LM's words")
            self._build_lexicon_free()
        else:
            self._build_lexicon(Path(lexicon), hotwords or {}, spell or greedy_speller(self.tokens, word_start))

    def reweighted(self, lm_weight: float, word_score: float) -> "BeamDecoder":
        """This decoder with another LM weight and word score, sharing its loaded LM and lexicon
        trie (what `asr lm tune` tries at each grid point). Not for a decoder with hotwords: their
        boosts were written into its LM for its own weight."""
        if self._boosted:
            raise ConfigError("a decoder with hotwords cannot be reweighted: build it again")
        other = copy.copy(self)
        other.settings = replace(self.settings, lm_weight=lm_weight, word_score=word_score)
        other.settings.check()
        if self.lexicon is None:
            other._decoder = LexiconFreeDecoder(other._options(self._width, lm_weight, False), self._lm, self._sil,
                                                self.blank, [])
        else:
            options = other._options(self._width, lm_weight, True, word_score, other.settings.unk_score)
            other._decoder = LexiconDecoder(options, self._trie, self._lm, self._sil, self.blank, self._unk, [], False)
        return other

    def _check_vocabulary(self, separator: str | None, word_start: str | None) -> None:
        if not self.tokens or not 0 <= self.blank < len(self.tokens):
            raise ConfigError(f"the blank id {self.blank} is not a token id (the vocabulary has {len(self.tokens)})")
        if len(set(self.tokens)) != len(self.tokens):
            raise ConfigError("a vocabulary must not repeat a token")
        if separator is not None and separator not in self.tokens:
            raise ConfigError(f"the word separator {separator!r} is not a token of this vocabulary "
                              "(give separator=None for vocabularies without one)")
        if word_start is not None and not any(t.startswith(word_start) for t in self.tokens):
            raise ConfigError(f"no token starts with the word-start mark {word_start!r} "
                              "(give word_start=None for vocabularies without one)")

    # --- building -------------------------------------------------------------------------

    def _options(self, width: int, lm_weight: float, lexicon: bool, word_score: float = 0.0,
                 unk_score: float = 0.0):
        s = self.settings
        beam_size_token = min(s.beam_size_token or width, width)
        if lexicon:
            return LexiconDecoderOptions(s.beam_size, beam_size_token, s.beam_threshold, lm_weight, word_score,
                                         unk_score, s.sil_score, s.log_add, CriterionType.CTC)
        return LexiconFreeDecoderOptions(s.beam_size, beam_size_token, s.beam_threshold, lm_weight, s.sil_score,
                                         s.log_add, CriterionType.CTC)

    def _build_lexicon_free(self) -> None:
        self.lexicon = None
        # The stand-in silence is never scored here (lexicon-free reads no silence
        # emission unless silence is a real token), so no padding column is needed.
        self._width = len(self.tokens)
        if self.lm_path is None:
            self._lm = ZeroLM()
        else:
            entries = self.tokens + [UNK]
            self._lm = load_kenlm(self.lm_path, entries)
            self._check_lm_level(self._lm, entries, None)
        self._score_offset = 0.0
        self._decoder = LexiconFreeDecoder(self._options(self._width, self.settings.lm_weight, False),
                                           self._lm, self._sil, self.blank, [])

    def _build_lexicon(self, path: Path, hotwords: dict[str, float], spell: Speller) -> None:
        lexicon = read_lexicon(path, self.tokens, self.separator)
        for special in _LM_SPECIALS:  # labels of their own, or none
            lexicon.pop(special, None)
        self.lexicon = path
        spellings = dict(lexicon)
        for phrase in hotwords:  # every word of a hotword must be in the lexicon
            for word in phrase.split():
                if word not in spellings:
                    spelt = spell(word)
                    if not spelt or any(t not in self._ids for t in spelt):
                        raise ConfigError(f"hotword {phrase!r}: {word!r} cannot be spelt in this model's tokens "
                                          "(write it as the model's normalised text, e.g. lower case)")
                    spellings[word] = [list(spelt)]
        # Word labels: the lexicon's and the hotwords' words, then <unk>; the LM is loaded with
        # the tokens after them too, only so that _check_lm_level can ask it about them.
        self._words = list(spellings) + [UNK]
        self._unk = len(self._words) - 1
        entries = self._words + [t for t in self.tokens if t not in spellings and t != UNK]
        s = self.settings
        lm_weight, word_score, unk_score = s.lm_weight, s.word_score, s.unk_score
        self._score_offset = 0.0
        if not hotwords:
            self._lm = ZeroLM() if self.lm_path is None else load_kenlm(self.lm_path, entries)
            if self.lm_path is not None:
                self._check_lm_level(self._lm, entries, list(lexicon))
        else:
            src = self.lm_path if self.lm_path is not None and lm_weight > 0 else None
            if src is not None:
                if not src.is_file():
                    raise ConfigError(f"{src}: LM not found (give an ARPA file or a KenLM binary, or no LM)")
                if arpa_vocabulary(src) is None:
                    raise ConfigError(f"{src}: hotwords need the LM as an ARPA file (they are written into a "
                                      "copy of it) and this is a KenLM binary: give the ARPA it was built from")
                self._check_lm_level(None, entries, list(lexicon))
            else:
                lm_weight = 1.0  # a flat LM that only holds the boosts, in the decoder's units
            with tempfile.TemporaryDirectory() as tmp:
                boosted = Path(tmp) / "hotwords.arpa"
                try:
                    shift = boosted_arpa(src, boosted, hotwords, 1.0 / lm_weight)
                except (ValueError, IndexError) as e:
                    raise ConfigError(f"{src}: not a readable ARPA file ({e})") from None
                self._lm = load_kenlm(boosted, entries)  # KenLM reads it all: the file can go
            # Every word's LM score went down by `shift` to keep probabilities <= 1: give it back.
            word_score += lm_weight * shift
            unk_score += lm_weight * shift
            self._score_offset = lm_weight * shift

        # The separator is a real column; a stand-in silence needs a column of its own.
        self._width = len(self.tokens) + (self._sep_id is None)
        end = [self._sep_id] if self._sep_id is not None else []
        trie = Trie(self._width, self._sil)
        start = self._lm.start(False)
        for i, (word, word_spellings) in enumerate(spellings.items()):
            score = self._lm.score(start, i)[1]
            for spelt in word_spellings:
                trie.insert([self._ids[t] for t in spelt] + end, i, score)
        trie.smear(SmearingMode.MAX)
        self._trie = trie  # the decoder keeps a pointer to it
        options = self._options(self._width, lm_weight, True, word_score, unk_score)
        self._decoder = LexiconDecoder(options, trie, self._lm, self._sil, self.blank, self._unk, [], False)

    def _known(self, lm, entries: list[str]) -> list[bool]:
        """Whether the LM knows each entry: from an ARPA file's unigrams, or for a KenLM binary
        `lm` (loaded with `entries` as its dictionary) by comparing each entry's unigram score
        with <unk>'s."""
        vocab = arpa_vocabulary(self.lm_path)
        if vocab is not None:
            return [e in vocab and e not in _LM_SPECIALS for e in entries]
        null = lm.start(True)
        unk = lm.score(null, entries.index(UNK))[1]
        return [e not in _LM_SPECIALS and lm.score(null, i)[1] != unk for i, e in enumerate(entries)]

    def _check_lm_level(self, lm, entries: list[str], words: list[str] | None) -> None:
        """Refuse a word-level LM without a lexicon (it would call every token <unk>) and a
        token-level one with a lexicon (every word). A token LM of a vocabulary with a
        separator knows the separator, which no word LM does; otherwise it knows most tokens.
        `words`: the lexicon's words, None for lexicon-free decoding."""
        known = dict(zip(entries, self._known(lm, entries)))
        content = [t for i, t in enumerate(self.tokens) if i != self.blank and t != self.separator]
        n_tokens = sum(known[t] for t in content)
        if self.separator is not None:
            token_level = known[self.separator]
            evidence = f"{'knows' if token_level else 'does not know'} the word separator {self.separator!r}"
        else:
            token_level = n_tokens >= 0.5 * len(content)
            evidence = f"knows {n_tokens} of the model's {len(content)} tokens"
        if words is None and not token_level:
            raise ConfigError(
                f"{self.lm_path}: this LM {evidence}, so it is a word-level LM (or one for another model). "
                f"Without a lexicon the LM is scored on tokens, and a word LM calls them {UNK} (or scores "
                "letters as one-letter words): give a lexicon to decode with it, or, for lexicon-free "
                "decoding, an LM of sentences spelt in tokens ('h e l l o | w o r l d')")
        if words is not None:
            n_words = sum(known[w] for w in words)
            if n_words == 0 or (token_level and (self.separator is not None or n_words < 0.5 * len(words))):
                raise ConfigError(
                    f"{self.lm_path}: this LM {evidence} and knows {n_words} of the lexicon's {len(words)} "
                    "words, so it is not a word-level LM of these words. With a lexicon the LM is scored on "
                    "words: give a word-level LM, or decode without a lexicon to use a token-level LM")

    # --- decoding -------------------------------------------------------------------------

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[Hypothesis]]:
        """log_probs (B, T, V) with lengths (B,) in frames -> the n-best Hypothesis list of each
        utterance, best first (at most settings.nbest, distinct in tokens or words). Frames
        past an utterance's length are not read."""
        lp = log_probs.detach().to("cpu", torch.float32)
        if lp.ndim != 3 or lp.shape[-1] != len(self.tokens):
            raise ValueError(f"log_probs must be (batch, frames, {len(self.tokens)}), got {tuple(lp.shape)}")
        out = []
        for b, n in enumerate(lengths.tolist()):
            n = max(0, min(int(n), lp.shape[1]))
            emissions = self._emissions(lp[b, :n])
            results = self._decoder.decode(emissions.data_ptr(), emissions.shape[0], self._width)
            out.append(self._hypotheses(results, n))
        return out

    def _emissions(self, log_probs: torch.Tensor) -> torch.Tensor:
        """One utterance's (n, V) log-probs as the decoder reads them: (n, width), contiguous.
        With a lexicon and no separator, the stand-in silence's column: at frame t the log-prob
        of frame t-1's best token, unless that is the blank (module docstring). With a lexicon
        and a separator, one more frame where only the separator is possible (it completes
        the last word)."""
        n, V = log_probs.shape
        if self._width > V:
            column = log_probs.new_full((n, 1), _NEVER)
            if n > 1:
                before = log_probs[:-1].argmax(dim=1, keepdim=True)
                repeat = log_probs[1:].gather(1, before)
                column[1:] = torch.where(before == self.blank, _NEVER, repeat)
            log_probs = torch.cat([log_probs, column], dim=1)
        if self.lexicon is not None and self._sep_id is not None:
            close = log_probs.new_full((1, self._width), _NEVER)
            close[0, self._sep_id] = 0.0
            log_probs = torch.cat([log_probs, close])
        return log_probs.contiguous()

    def _hypotheses(self, results, n: int) -> list[Hypothesis]:
        hyps: list[Hypothesis] = []
        seen: set[tuple] = set()
        for result in results:
            # A result's path has one entry per frame, between the start state and the end
            # step (and the closing frame, whose word, if any, is the last word).
            path, labels = result.tokens[1:n + 1], result.words[1:]
            tokens, frames, words = self._read_path(path, labels)
            key = (tuple(tokens), tuple(words))
            if key not in seen:
                seen.add(key)
                hyps.append(Hypothesis(tokens, frames, float(result.score) + self._score_offset, words))
                if len(hyps) == self.settings.nbest:
                    break
        return hyps

    def _read_path(self, path: list[int], labels: list[int]) -> tuple[list[int], list[int], list[str]]:
        """A frame path -> (token ids, frame of each, words). Tokens as the greedy decoder reads
        a path: a token is emitted on its first frame, blanks and the stand-in silence dropped.
        `labels` has a word label (or -1) per frame, and may run past the path (the closing
        frame), where only a word can still end."""
        tokens: list[int] = []
        frames: list[int] = []
        previous = None
        real = len(self.tokens)
        for t, token in enumerate(path):
            if token != previous and token != self.blank and token < real:
                tokens.append(token)
                frames.append(t)
            previous = token
        if self.lexicon is None:
            return tokens, frames, self._token_words(tokens)
        words: list[str] = []
        emitted = 0  # tokens emitted up to the frame in hand
        word_begins = 0  # where in `tokens` the current word began
        for t, label in enumerate(labels):
            while emitted < len(frames) and frames[emitted] <= t:
                emitted += 1
            if label < 0:
                continue
            if label == self._unk:
                words.append(self._spelt(tokens[word_begins:emitted]))
            else:
                words.append(self._words[label])
            word_begins = emitted
        return tokens, frames, words

    def _spelt(self, ids: list[int]) -> str:
        """The text of one word's token ids (an unknown word's: no separator, no marks)."""
        text = "".join(self.tokens[i] for i in ids if i != self._sep_id)
        return text.replace(self.word_start, "") if self.word_start else text

    def _token_words(self, ids: list[int]) -> list[str]:
        """Words read off tokens: split at separators and at word-start marks; without
        either (Mandarin characters) every token is a word."""
        if self._sep_id is None and self.word_start is None:
            return [self.tokens[i] for i in ids]
        text = "".join(" " if i == self._sep_id else self.tokens[i] for i in ids)
        if self.word_start:
            text = text.replace(self.word_start, " ")
        return text.split()


@contextlib.contextmanager
def _quiet_stderr():
    """Send file descriptor 2 to /dev/null meanwhile (C++ writes there, past Python's sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_kenlm(path: Path, entries: list[str]):
    """A flashlight KenLM over `entries` (our indices -> the LM's words; unknown ones are <unk>),
    with a ConfigError naming the file when it is missing or not an LM."""
    if KenLM is None:
        raise ConfigError("this flashlight-text was built without KenLM, so no LM can be loaded "
                          "(reinstall flashlight-text from PyPI, or decode without an LM)")
    if not path.is_file():
        raise ConfigError(f"{path}: LM not found (give an ARPA file or a KenLM binary, or no LM)")
    try:
        with _quiet_stderr():  # KenLM draws a progress bar on the process's stderr for each load
            return KenLM(str(path), Dictionary(entries))
    except RuntimeError as e:
        detail = [line for line in str(e).splitlines() if line.strip()]
        raise ConfigError(f"{path}: not a readable n-gram LM ({detail[-1].strip() if detail else e}); "
                          "give an ARPA file or a KenLM binary") from None

