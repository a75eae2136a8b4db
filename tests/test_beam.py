"""Beam search (flashlight) on hand-built posteriors, tiny hand-written ARPA LMs and lexicons."""

import math

import pytest
import torch

from asr.beam import BeamDecoder, BeamSettings, load_kenlm
from asr.decoding import GreedyDecoder
from asr.errors import ConfigError
from asr.hotwords import (
    DEFAULT_BOOST,
    boosted_arpa,
    parse_hotword,
    parse_hotwords,
    read_hotwords,
)
from asr.lexicon import greedy_speller, read_lexicon, write_lexicon
from asr.vocab import SubwordVocabulary
from asr.vocab import Vocabulary

# <blank> | a c e h p t: just the letters of "the cat" and "the cap", so that a token LM
# over them knows every token.
CAT = Vocabulary.build(["the cat", "the cap"])
MANDARIN = Vocabulary.build(["北京大学", "北大"])  # no separator: one token per character

# A word 2-gram LM: after "the", "cat" is far likelier than "cap" (log10).
WORD_ARPA = """\\data\\
ngram 1=6
ngram 2=5

\\1-grams:
-1.0\t<unk>\t0
-99\t<s>\t-0.3
-0.7\t</s>\t0
-0.6\tthe\t-0.3
-1.0\tcat\t-0.3
-1.1\tcap\t-0.3

\\2-grams:
-0.1\t<s> the
-0.2\tthe cat
-1.8\tthe cap
-0.1\tcat </s>
-0.1\tcap </s>

\\end\\
"""

# The same preference as a token LM: sentences spelt "t h e | c a t".
TOKEN_ARPA = """\\data\\
ngram 1=11
ngram 2=3

\\1-grams:
-2.0\t<unk>\t0
-99\t<s>\t0
-1.0\t</s>\t0
-1.0\t|\t0
-1.0\ta\t-0.5
-1.0\tc\t0
-1.0\te\t0
-1.0\th\t0
-1.0\tp\t0
-1.0\tt\t0
-2.0\tx\t0

\\2-grams:
-0.1\ta t
-2.5\ta p
-0.3\t<s> t

\\end\\
"""


def ids(vocab, text: str) -> list[int]:
    """Token ids of characters, spaces as the separator."""
    return [vocab.tokens.index("|" if c == " " else c) for c in text]


def posteriors(frames: list, vocab_size: int, floor: float = 1e-3) -> torch.Tensor:
    """(T, V) log-probs from one entry per frame: a token id (probability ~0.97), or a dict
    {token id: probability} for a frame in doubt; the rest is spread over the other tokens."""
    p = torch.full((len(frames), vocab_size), floor)
    for t, frame in enumerate(frames):
        for token, prob in ({frame: 1 - floor * vocab_size} if isinstance(frame, int) else frame).items():
            p[t, token] = prob
    return (p / p.sum(-1, keepdim=True)).log()


def spell_out(tokens: list[int], blank: int = 0) -> list:
    """A frame sequence for a token sequence: each token for two frames, a blank after each."""
    frames: list = []
    for token in tokens:
        frames += [token, token, blank]
    return frames


def decode_one(decoder, frames: list, vocab_size: int):
    lp = posteriors(frames, vocab_size).unsqueeze(0)
    return decoder(lp, torch.tensor([len(frames)]))[0]


def text(vocab, hyp) -> str:
    return vocab.decode(hyp.tokens)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "word.arpa").write_text(WORD_ARPA)
    (tmp_path / "token.arpa").write_text(TOKEN_ARPA)
    write_lexicon(["the", "cat", "cap"], list, tmp_path / "lexicon.txt")
    return tmp_path


def cat_frames(p_t: float) -> list:
    """"the cat" with the last letter in doubt: t with probability p_t, else p."""
    t, p = CAT.tokens.index("t"), CAT.tokens.index("p")
    return spell_out(ids(CAT, "the ca")) + [{t: p_t, p: 0.97 - p_t}, {t: p_t, p: 0.97 - p_t}, 0]


# --- settings -----------------------------------------------------------------------------

def test_default_settings_are_valid():
    BeamSettings().check()
    assert BeamSettings().beam_size == 50 and BeamSettings().unk_score == -math.inf


@pytest.mark.parametrize("change, key", [
    ({"beam_size": 0}, "beam_size"),
    ({"beam_size_token": 0}, "beam_size_token"),
    ({"beam_threshold": 0.0}, "beam_threshold"),
    ({"beam_threshold": math.inf}, "beam_threshold"),
    ({"lm_weight": -1.0}, "lm_weight"),
    ({"lm_weight": math.nan}, "lm_weight"),
    ({"word_score": math.inf}, "word_score"),
    ({"sil_score": math.nan}, "sil_score"),
    ({"unk_score": math.inf}, "unk_score"),
    ({"nbest": 0}, "nbest"),
    ({"nbest": 5, "beam_size": 2}, "nbest"),
    ({"log_add": "yes"}, "log_add"),
])
def test_bad_settings_are_named(change, key):
    with pytest.raises(ConfigError, match=f"decoding.{key}"):
        BeamSettings(**change).check()
    with pytest.raises(ConfigError, match=f"decoding.{key}"):
        BeamDecoder(CAT.tokens, 0, "|", None, BeamSettings(**change))


# --- against the greedy decoder -----------------------------------------------------------

@pytest.mark.parametrize("vocab", [CAT, MANDARIN], ids=["characters", "mandarin"])
def test_beam_one_without_lm_is_greedy(vocab):
    torch.manual_seed(0)
    V = len(vocab)
    # Peaky posteriors: each frame one token far ahead (blank half the time), several lengths.
    best = torch.where(torch.rand(5, 40) < 0.5, torch.zeros(5, 40, dtype=torch.long), torch.randint(1, V, (5, 40)))
    logits = torch.randn(5, 40, V) + 6 * torch.nn.functional.one_hot(best, V)
    lp = logits.log_softmax(-1)
    lengths = torch.tensor([40, 31, 12, 1, 0])
    greedy = GreedyDecoder(0)(lp, lengths)
    beam = BeamDecoder(vocab.tokens, 0, vocab.separator, None, BeamSettings(beam_size=1))(lp, lengths)
    for g, b in zip(greedy, beam):
        assert len(b) == 1
        assert (b[0].tokens, b[0].frames) == (g[0].tokens, g[0].frames)
        assert b[0].score == pytest.approx(g[0].score, abs=1e-3)


def test_frames_past_the_length_are_ignored():
    v = len(CAT)
    the = posteriors(spell_out(ids(CAT, "the")), v)
    noise = posteriors(spell_out(ids(CAT, "cap")), v)
    batch = torch.stack([torch.cat([the, noise]), torch.cat([noise, noise])])
    decoder = BeamDecoder(CAT.tokens, 0, "|", None, BeamSettings(beam_size=8))
    out = decoder(batch, torch.tensor([the.shape[0], 2 * noise.shape[0]]))
    assert text(CAT, out[0][0]) == "the"
    assert text(CAT, out[1][0]) == "capcap"


def test_nbest_sorted_distinct_and_frames_one_per_token(files):
    torch.manual_seed(1)
    V = len(CAT)
    lp = (torch.randn(3, 30, V) * 2).log_softmax(-1)
    lengths = torch.tensor([30, 20, 9])
    for lexicon in (None, files / "lexicon.txt"):
        decoder = BeamDecoder(CAT.tokens, 0, "|", None, BeamSettings(beam_size=16, nbest=6), lexicon=lexicon)
        for n_best, n in zip(decoder(lp, lengths), lengths.tolist()):
            assert 1 <= len(n_best) <= 6
            scores = [h.score for h in n_best]
            assert scores == sorted(scores, reverse=True)
            assert len({(tuple(h.tokens), tuple(h.words)) for h in n_best}) == len(n_best)
            for h in n_best:
                assert len(h.frames) == len(h.tokens)
                assert all(a < b for a, b in zip(h.frames, h.frames[1:]))
                assert all(0 <= f < n for f in h.frames)
                assert 0 not in h.tokens


# --- lexicon ------------------------------------------------------------------------------

def test_lexicon_decoding_emits_only_lexicon_words(files):
    torch.manual_seed(2)
    V = len(CAT)
    lp = (torch.randn(4, 40, V) * 3).log_softmax(-1)
    decoder = BeamDecoder(CAT.tokens, 0, "|", None, BeamSettings(beam_size=20, nbest=5),
                          lexicon=files / "lexicon.txt")
    seen = 0
    for n_best in decoder(lp, torch.tensor([40, 40, 25, 10])):
        for h in n_best:
            assert set(h.words) <= {"the", "cat", "cap"}
            # The tokens spell the words, separators only between them.
            assert [w for w in text(CAT, h).split()] == h.words
            seen += len(h.words)
    assert seen > 0


def test_lexicon_words_and_separators_kept_as_greedy(files):
    frames = spell_out(ids(CAT, "the cat"))
    decoder = BeamDecoder(CAT.tokens, 0, "|", None, BeamSettings(beam_size=10), lexicon=files / "lexicon.txt")
    (best,) = decode_one(decoder, frames, len(CAT))
    greedy = GreedyDecoder(0)(posteriors(frames, len(CAT)).unsqueeze(0), torch.tensor([len(frames)]))[0][0]
    assert best.words == ["the", "cat"]
    assert (best.tokens, best.frames) == (greedy.tokens, greedy.frames)


def test_unknown_words_when_allowed(files):
    # Flashlight's unknown word: the start of a lexicon spelling, here "ca" of "cat" (ended
    # on a one-frame "a": flashlight ends the word there, a second "a" frame could only be
    # spent on a separator).
    frames = spell_out(ids(CAT, "the c")) + [CAT.tokens.index("a"), 0]
    strict = BeamDecoder(CAT.tokens, 0, "|", None, BeamSettings(beam_size=10), lexicon=files / "lexicon.txt")
    assert "ca" not in decode_one(strict, frames, len(CAT))[0].words
    loose = BeamDecoder(CAT.tokens, 0, "|", None, BeamSettings(beam_size=10, unk_score=-1.0),
                        lexicon=files / "lexicon.txt")
    best = decode_one(loose, frames, len(CAT))[0]
    assert best.words == ["the", "ca"] and text(CAT, best) == "the ca"


# --- LM -----------------------------------------------------------------------------------

def test_word_lm_breaks_a_near_tie_with_a_lexicon(files):
    frames = cat_frames(0.42)  # acoustically "cap" (0.55) beats "cat" (0.42)
    settings = BeamSettings(beam_size=10, lm_weight=1.0)
    plain = BeamDecoder(CAT.tokens, 0, "|", None, settings, lexicon=files / "lexicon.txt")
    with_lm = BeamDecoder(CAT.tokens, 0, "|", None, settings, lm=files / "word.arpa", lexicon=files / "lexicon.txt")
    assert decode_one(plain, frames, len(CAT))[0].words == ["the", "cap"]
    assert decode_one(with_lm, frames, len(CAT))[0].words == ["the", "cat"]
    # Clear acoustics still win over the LM.
    assert decode_one(with_lm, cat_frames(0.02), len(CAT))[0].words == ["the", "cap"]


def test_token_lm_breaks_a_near_tie_without_a_lexicon(files):
    frames = cat_frames(0.42)
    settings = BeamSettings(beam_size=10, lm_weight=1.0)
    plain = BeamDecoder(CAT.tokens, 0, "|", None, settings)
    with_lm = BeamDecoder(CAT.tokens, 0, "|", None, settings, lm=files / "token.arpa")
    assert text(CAT, decode_one(plain, frames, len(CAT))[0]) == "the cap"
    best = decode_one(with_lm, frames, len(CAT))[0]
    assert text(CAT, best) == "the cat" and best.words == ["the", "cat"]


def n_best(decoder, frames) -> list:
    return sorted((round(h.score, 6), h.tokens, h.frames, h.words) for h in decode_one(decoder, frames, len(CAT)))


@pytest.mark.parametrize("lexicon", [True, False], ids=["lexicon", "lexicon-free"])
def test_a_reweighted_decoder_decodes_as_one_built_with_those_weights(files, lexicon):
    kind = {"lm": files / "word.arpa", "lexicon": files / "lexicon.txt"} if lexicon else {"lm": files / "token.arpa"}
    frames = cat_frames(0.42)
    zero = BeamDecoder(CAT.tokens, 0, "|", None, BeamSettings(beam_size=10, nbest=3, lm_weight=0.0), **kind)
    for weight, score in ((0.0, 0.0), (1.0, 0.5), (2.0, -1.0)):
        built = BeamDecoder(CAT.tokens, 0, "|", None, BeamSettings(beam_size=10, nbest=3, lm_weight=weight,
                                                                   word_score=score), **kind)
        # The same n-best (flashlight orders hypotheses of equal score either way).
        assert n_best(zero.reweighted(weight, score), frames) == n_best(built, frames)
    assert decode_one(zero.reweighted(1.0, 0.0), frames, len(CAT))[0].words == ["the", "cat"]
    assert decode_one(zero, frames, len(CAT))[0].words == ["the", "cap"]  # the original is unchanged
    with pytest.raises(ConfigError, match="cannot be reweighted"):
        BeamDecoder(CAT.tokens, 0, "|", None, lexicon=files / "lexicon.txt", hotwords={"cat": 1.0}).reweighted(1, 0)


def test_word_lm_without_lexicon_is_refused(files):
    with pytest.raises(ConfigError, match="word-level LM.*give a lexicon"):
        BeamDecoder(CAT.tokens, 0, "|", None, lm=files / "word.arpa")


def test_token_lm_with_lexicon_is_refused(files):
    with pytest.raises(ConfigError, match="knows the word separator '|'.*not a word-level LM"):
        BeamDecoder(CAT.tokens, 0, "|", None, lm=files / "token.arpa", lexicon=files / "lexicon.txt")


def test_word_lm_that_knows_letters_is_still_a_word_lm(tmp_path):
    # AN4 spells letters as words ("a b c"): a word LM then knows single-letter tokens, but
    # never the separator.
    (tmp_path / "lm.arpa").write_text(TOKEN_ARPA.replace("-1.0\t|\t0\n", "-1.0\tthe\t0\n"))
    with pytest.raises(ConfigError, match="does not know the word separator"):
        BeamDecoder(CAT.tokens, 0, "|", None, lm=tmp_path / "lm.arpa")


MANDARIN_CHAR_ARPA = """\\data\\
ngram 1=7
ngram 2=1

\\1-grams:
-1.5\t<unk>\t0
-99\t<s>\t0
-0.8\t</s>\t0
-0.6\t北\t-0.2
-0.6\t京\t0
-0.6\t大\t0
-0.6\t学\t0

\\2-grams:
-0.1\t北 京

\\end\\
"""


def test_mandarin_lm_level_is_told_by_the_characters_it_knows(tmp_path):
    (tmp_path / "chars.arpa").write_text(MANDARIN_CHAR_ARPA)
    frames = spell_out([MANDARIN.tokens.index(c) for c in "北京"])
    decoder = BeamDecoder(MANDARIN.tokens, 0, None, None, lm=tmp_path / "chars.arpa")
    assert decode_one(decoder, frames, len(MANDARIN))[0].words == ["北", "京"]
    # A word LM that knows one of the four characters as a word is refused without a lexicon.
    (tmp_path / "words.arpa").write_text(MANDARIN_ARPA.replace("\t京\t", "\t南京\t").replace("\t大\t", "\t上海\t")
                                         .replace("\t学\t", "\t中学\t"))
    with pytest.raises(ConfigError, match="knows 1 of the model's 4 tokens, so it is a word-level LM"):
        BeamDecoder(MANDARIN.tokens, 0, None, None, lm=tmp_path / "words.arpa")


def test_bad_lm_files(files):
    with pytest.raises(ConfigError, match="missing.arpa: LM not found"):
        BeamDecoder(CAT.tokens, 0, "|", None, lm=files / "missing.arpa")
    (files / "bad.arpa").write_text("this is not an LM\n")
    with pytest.raises(ConfigError, match=r"bad.arpa: not a readable n-gram LM .*\\data\\"):
        BeamDecoder(CAT.tokens, 0, "|", None, lm=files / "bad.arpa")
    # With hotwords the LM is read as ARPA text (to write the boosted copy).
    lexicon = files / "lexicon.txt"
    with pytest.raises(ConfigError, match=r"bad.arpa: not an ARPA file"):
        BeamDecoder(CAT.tokens, 0, "|", None, lm=files / "bad.arpa", lexicon=lexicon, hotwords={"cat": 1.0})
    (files / "lm.bin").write_bytes(b"mmap lm http://kheafield.com/code format version 5\n\0\0")
    with pytest.raises(ConfigError, match="hotwords need the LM as an ARPA file"):
        BeamDecoder(CAT.tokens, 0, "|", None, lm=files / "lm.bin", lexicon=lexicon, hotwords={"cat": 1.0})


# --- vocabularies without a separator ------------------------------------------------------

MANDARIN_ARPA = """\\data\\
ngram 1=9
ngram 2=2

\\1-grams:
-1.5\t<unk>\t0
-99\t<s>\t-0.3
-0.8\t</s>\t0
-1.0\t北京\t-0.3
-1.0\t大学\t-0.3
-2.5\t北\t0
-2.5\t京\t0
-2.5\t大\t0
-2.5\t学\t0

\\2-grams:
-0.2\t<s> 北京
-0.2\t北京 大学

\\end\\
"""


def test_mandarin_words_from_the_lexicon_and_the_lm(tmp_path):
    (tmp_path / "lm.arpa").write_text(MANDARIN_ARPA)
    counts = write_lexicon(["北京", "大学", "北", "京", "大", "学"], list, tmp_path / "lexicon.txt")
    assert counts.written == 6
    frames = spell_out([MANDARIN.tokens.index(c) for c in "北京大学"])
    decoder = BeamDecoder(MANDARIN.tokens, 0, None, None, BeamSettings(beam_size=20, lm_weight=1.0),
                          lm=tmp_path / "lm.arpa", lexicon=tmp_path / "lexicon.txt")
    best = decode_one(decoder, frames, len(MANDARIN))[0]
    assert best.words == ["北京", "大学"]
    assert MANDARIN.decode(best.tokens) == "北京大学"
    assert len(best.frames) == 4
    # Without a lexicon every character is a word.
    free = decode_one(BeamDecoder(MANDARIN.tokens, 0, None, None), frames, len(MANDARIN))[0]
    assert free.words == ["北", "京", "大", "学"] and free.tokens == best.tokens


def test_repeated_mandarin_character_needs_a_blank(tmp_path):
    write_lexicon(["好", "棒"], list, tmp_path / "lexicon.txt")
    vocab = Vocabulary.build(["好棒"])
    hao, bang = vocab.tokens.index("好"), vocab.tokens.index("棒")
    decoder = BeamDecoder(vocab.tokens, 0, None, None, BeamSettings(beam_size=10), lexicon=tmp_path / "lexicon.txt")
    assert decode_one(decoder, [hao, bang, 0, bang], len(vocab))[0].words == ["好", "棒", "棒"]
    assert decode_one(decoder, [hao, bang, bang], len(vocab))[0].words == ["好", "棒"]


@pytest.fixture(scope="module")
def bpe():
    texts = ["seventy five", "seven", "five", "seventy", "fifty five", "fifty seven"] * 3
    return SubwordVocabulary.train(texts, size=40)


def test_bpe_words_from_word_starts(bpe, tmp_path):
    spell = lambda w: [bpe.tokens[i] for i in bpe.encode(w)]
    write_lexicon(["seven", "seventy", "five", "fifty"], spell, tmp_path / "lexicon.txt")
    frames = spell_out(bpe.encode("seventy five"))
    for lexicon in (None, tmp_path / "lexicon.txt"):
        decoder = BeamDecoder(bpe.tokens, 0, None, "▁", BeamSettings(beam_size=10), lexicon=lexicon)
        best = decode_one(decoder, frames, len(bpe))[0]
        assert best.words == ["seventy", "five"]
        assert bpe.decode(best.tokens) == "seventy five"
        assert best.tokens == bpe.encode("seventy five")


# --- hotwords -----------------------------------------------------------------------------

def zeta_frames(p_z: float) -> list:
    """"the zeta" where z is in doubt against b ("beta", in the lexicon)."""
    vocab = Vocabulary.build(["the zeta beta"])
    z, b = vocab.tokens.index("z"), vocab.tokens.index("b")
    return vocab, spell_out(ids(vocab, "the ")) + [{z: p_z, b: 0.97 - p_z}, {z: p_z, b: 0.97 - p_z}, 0] + \
        spell_out(ids(vocab, "eta"))


@pytest.mark.parametrize("with_lm", [False, True])
def test_hotword_recovers_a_near_miss_outside_the_lexicon(tmp_path, with_lm):
    vocab, frames = zeta_frames(0.40)  # "beta" 0.57, "zeta" 0.40
    write_lexicon(["the", "beta"], list, tmp_path / "lexicon.txt")
    (tmp_path / "lm.arpa").write_text(WORD_ARPA.replace("cat", "beta").replace("cap", "bet"))
    kwargs = {"lexicon": tmp_path / "lexicon.txt", "lm": tmp_path / "lm.arpa" if with_lm else None}
    settings = BeamSettings(beam_size=10, lm_weight=1.0)
    plain = BeamDecoder(vocab.tokens, 0, "|", None, settings, **kwargs)
    boosted = BeamDecoder(vocab.tokens, 0, "|", None, settings, hotwords={"zeta": DEFAULT_BOOST}, **kwargs)
    assert decode_one(plain, frames, len(vocab))[0].words == ["the", "beta"]
    assert decode_one(boosted, frames, len(vocab))[0].words == ["the", "zeta"]
    # A hotword does not replace a word the acoustics are sure of.
    _, clear = zeta_frames(0.001)
    assert decode_one(boosted, clear, len(vocab))[0].words == ["the", "beta"]


def test_hotword_phrase_is_boosted_as_a_whole(tmp_path):
    vocab, frames = zeta_frames(0.40)
    write_lexicon(["the", "beta", "zeta"], list, tmp_path / "lexicon.txt")
    settings = BeamSettings(beam_size=10, word_score=0.0)
    kwargs = {"lexicon": tmp_path / "lexicon.txt"}
    assert decode_one(BeamDecoder(vocab.tokens, 0, "|", None, settings, **kwargs),
                      frames, len(vocab))[0].words == ["the", "beta"]
    phrase = BeamDecoder(vocab.tokens, 0, "|", None, settings, hotwords={"the zeta": 2.0}, **kwargs)
    assert decode_one(phrase, frames, len(vocab))[0].words == ["the", "zeta"]
    # The phrase's words alone are not boosted: "zeta" after nothing stays behind "beta".
    alone = spell_out(ids(vocab, "eta"))
    z, b = vocab.tokens.index("z"), vocab.tokens.index("b")
    alone = [{z: 0.40, b: 0.57}, {z: 0.40, b: 0.57}, 0] + alone
    assert decode_one(phrase, alone, len(vocab))[0].words == ["beta"]


def test_bpe_hotword_outside_the_lexicon(bpe, tmp_path):
    spell = lambda w: [bpe.tokens[i] for i in bpe.encode(w)]
    write_lexicon(["seven", "five", "fifty"], spell, tmp_path / "lexicon.txt")
    frames = spell_out(bpe.encode("seventy five"))
    settings = BeamSettings(beam_size=10)
    plain = BeamDecoder(bpe.tokens, 0, None, "▁", settings, lexicon=tmp_path / "lexicon.txt")
    assert decode_one(plain, frames, len(bpe))[0].words != ["seventy", "five"]
    for speller in (spell, None):  # the model's BPE, or the greedy speller by default
        boosted = BeamDecoder(bpe.tokens, 0, None, "▁", settings, lexicon=tmp_path / "lexicon.txt",
                              hotwords={"seventy": 1.0}, spell=speller)
        assert decode_one(boosted, frames, len(bpe))[0].words == ["seventy", "five"]


# WORD_ARPA made a 3-gram model: one trigram, and "the cat" with a backoff weight.
TRIGRAM_ARPA = WORD_ARPA.replace("ngram 2=5", "ngram 2=5\nngram 3=1").replace(
    "-0.2\tthe cat", "-0.2\tthe cat\t-0.4").replace("\\end\\", "\\3-grams:\n-0.05\t<s> the cat\n\n\\end\\")


def lm_scores(path, sentence: list[str], words: list[str]) -> list[float]:
    """log10 p of each word of `sentence` after <s>, then of </s>, from KenLM."""
    lm = load_kenlm(path, words)
    state, out = lm.start(False), []
    for word in sentence:
        state, score = lm.score(state, words.index(word))
        out.append(score)
    return out + [lm.finish(state)[1]]


@pytest.mark.parametrize("arpa", [WORD_ARPA, TRIGRAM_ARPA], ids=["2-gram", "3-gram"])
def test_boosted_arpa_adds_exactly_the_boosts(tmp_path, arpa):
    (tmp_path / "lm.arpa").write_text(arpa)
    hotwords = {"cap": 2.0, "zeta": 1.0, "the cat": 0.5, "cat cap the": 0.25}
    shift = boosted_arpa(tmp_path / "lm.arpa", tmp_path / "boosted.arpa", hotwords, scale=2.0)
    assert shift > 0  # "cap" after "the cat" would otherwise have a positive log probability
    words = ["the", "cat", "cap", "zeta", "<unk>"]
    order = 3 if arpa is TRIGRAM_ARPA else 2
    for sentence in (["the", "cap"], ["the", "cat", "cap", "the"], ["zeta", "cat"], ["cat", "the", "zeta"],
                     ["the", "cat", "the", "cat"], ["cap", "cap", "zeta", "the", "cat"]):
        before = lm_scores(tmp_path / "lm.arpa", sentence, words)
        after = lm_scores(tmp_path / "boosted.arpa", sentence, words)
        for i, word in enumerate(sentence + ["</s>"]):
            history = tuple(sentence + ["</s>"])[:i + 1]
            boost = sum(b for phrase, b in hotwords.items()
                        if history[-len(phrase.split()):][-order:] == tuple(phrase.split())[-order:])
            assert after[i] == pytest.approx(before[i] + 2.0 * boost - shift, abs=1e-4), (sentence, word)


def test_flat_boosted_arpa(tmp_path):
    shift = boosted_arpa(None, tmp_path / "flat.arpa", {"zeta": 3.0, "new york": 1.5}, scale=1.0)
    assert shift == 3.0
    words = ["zeta", "new", "york", "<unk>"]
    assert lm_scores(tmp_path / "flat.arpa", ["york", "new", "york", "zeta"], words) == \
        pytest.approx([-3.0, -3.0, -1.5, 0.0, -3.0], abs=1e-4)


def test_hotword_errors(files):
    with pytest.raises(ConfigError, match="hotwords need a lexicon"):
        BeamDecoder(CAT.tokens, 0, "|", None, hotwords={"cat": 2.0})
    with pytest.raises(ConfigError, match="'dog' cannot be spelt"):
        BeamDecoder(CAT.tokens, 0, "|", None, lexicon=files / "lexicon.txt", hotwords={"dog": 2.0})


def test_hotword_parsing(tmp_path):
    assert parse_hotword("kubernetes:6") == ("kubernetes", 6.0)
    assert parse_hotword("new  york:-1.5") == ("new york", -1.5)
    assert parse_hotword("zeta") == ("zeta", DEFAULT_BOOST)
    assert parse_hotwords(["a:1", "b c"]) == {"a": 1.0, "b c": DEFAULT_BOOST}
    for bad, message in [("zeta:lots", "must be a number"), (":3", "has no word"), ("x:inf", "finite")]:
        with pytest.raises(ConfigError, match=message):
            parse_hotword(bad)
    with pytest.raises(ConfigError, match="given twice"):
        parse_hotwords(["a:1", "a:2"])
    path = tmp_path / "hot.txt"
    path.write_text("# names\nzeta:4\n\nnew york\nbeta:x\n")
    with pytest.raises(ConfigError, match=r"hot.txt:5: 'beta:x'"):
        read_hotwords(path)
    path.write_text("zeta:4\nnew york\nzeta\n")
    with pytest.raises(ConfigError, match=r"hot.txt:3: 'zeta' was already given on line 1"):
        read_hotwords(path)
    path.write_text("zeta:4\n new york \n")
    assert read_hotwords(path) == {"zeta": 4.0, "new york": DEFAULT_BOOST}
    with pytest.raises(ConfigError, match="hotwords file not found"):
        read_hotwords(tmp_path / "none.txt")


# --- lexicon files ------------------------------------------------------------------------

def test_write_lexicon_skips_and_counts_unspellable_words(tmp_path):
    spell = greedy_speller(CAT.tokens)
    counts = write_lexicon(["the", "cat", "dog", "the", "ca t", "hat"], spell, tmp_path / "lex.txt")
    assert (counts.written, counts.skipped) == (3, 2)
    assert counts.skipped_examples == ["dog", "ca t"]
    assert read_lexicon(tmp_path / "lex.txt", CAT.tokens) == {"the": [["t", "h", "e"]], "cat": [["c", "a", "t"]],
                                                               "hat": [["h", "a", "t"]]}


def test_greedy_speller_longest_pieces_first(bpe):
    spell = greedy_speller(bpe.tokens, "▁")
    pieces = spell("seventy")
    assert pieces[0].startswith("▁") and "".join(pieces) == "▁seventy"
    assert all(p in bpe.tokens for p in pieces)
    assert greedy_speller(CAT.tokens)("dog") is None


def test_read_lexicon_errors_name_the_line(tmp_path):
    path = tmp_path / "lex.txt"
    path.write_text("the\tt h e |\ncat c a t\n\ncap\n")
    with pytest.raises(ConfigError, match=r"lex.txt:4: 'cap' has no spelling"):
        read_lexicon(path, CAT.tokens, "|")
    path.write_text("the\tt h e\ndog\td o g\n")
    with pytest.raises(ConfigError, match=r"lex.txt:2: 'dog' is spelt with 'd', which is not a token"):
        read_lexicon(path, CAT.tokens)
    path.write_text("the\tt h e |\nthe t h e\n")
    assert read_lexicon(path, CAT.tokens, "|") == {"the": [["t", "h", "e"]]}  # trailing | dropped
    with pytest.raises(ConfigError, match="lexicon not found"):
        BeamDecoder(CAT.tokens, 0, "|", None, lexicon=tmp_path / "none.txt")
    path.write_text("\n\n")
    with pytest.raises(ConfigError, match="has no words"):
        read_lexicon(path)


def test_bad_vocabulary_arguments():
    with pytest.raises(ConfigError, match="separator '#'"):
        BeamDecoder(CAT.tokens, 0, "#", None)
    with pytest.raises(ConfigError, match="word-start mark"):
        BeamDecoder(CAT.tokens, 0, "|", "▁")
    with pytest.raises(ConfigError, match="blank id 9"):
        BeamDecoder(CAT.tokens, 9, "|", None)
