"""Greedy CTC decoding on hand-built log-probabilities."""

import torch

from asr.data import ctc_frames_needed
from asr.decoding import GreedyDecoder
from asr.vocab import Vocabulary

MANDARIN = Vocabulary.build(["好棒"])  # <blank> 好 棒
ENGLISH_WORDS = Vocabulary(["<blank>", "|", "one"])  # word tokens: "one one" needs a blank or separator


def frames(tokens: list[int], vocab_size: int) -> torch.Tensor:
    """(T, V) log-probs whose best token at frame t is tokens[t]."""
    x = torch.full((len(tokens), vocab_size), -5.0)
    x[torch.arange(len(tokens)), torch.tensor(tokens)] = -0.1
    return x.log_softmax(-1)


def decode_one(tokens: list[int], vocab_size: int) -> list[int]:
    lp = frames(tokens, vocab_size).unsqueeze(0)
    return GreedyDecoder(blank=0)(lp, torch.tensor([len(tokens)]))[0][0].tokens


def tokens(hyps: list[list]) -> list[list[int]]:
    """The best hypothesis's token ids of each utterance."""
    return [n_best[0].tokens for n_best in hyps]


def ids(vocab: Vocabulary, text: str) -> list[int]:
    return [vocab.tokens.index(c) for c in text]


def test_merges_repeats_then_drops_blanks():
    # a a _ b b _ _ b  ->  a b b
    assert decode_one([1, 1, 0, 2, 2, 0, 0, 2], 3) == [1, 2, 2]
    # leading and trailing blanks vanish; a blank-free run collapses
    assert decode_one([0, 0, 1, 1, 1, 0], 3) == [1]


def test_blank_between_repeats_keeps_both():
    hao, bang = ids(MANDARIN, "好棒")
    with_blank = decode_one([hao, bang, 0, bang], len(MANDARIN))
    without = decode_one([hao, bang, bang], len(MANDARIN))
    assert MANDARIN.decode(with_blank) == "好棒棒"
    assert MANDARIN.decode(without) == "好棒"


def test_one_one_with_separator():
    one, sep = 2, 1
    out = decode_one([one, one, sep, sep, one, 0], len(ENGLISH_WORDS))
    assert out == [one, sep, one]
    assert ENGLISH_WORDS.decode(out) == "one one"
    # Without the separator (or a blank) in between, the repeat is merged.
    assert decode_one([one, one, one], len(ENGLISH_WORDS)) == [one]


def test_batch_ignores_frames_past_each_length():
    v = 4
    a = frames([1, 0, 2, 3, 3], v)  # full length 5
    b = frames([2, 2, 0, 1, 3], v)  # only the first 3 frames count
    lp = torch.stack([a, b])
    out = GreedyDecoder()(lp, torch.tensor([5, 3]))
    assert tokens(out) == [[1, 2, 3], [2]]
    # Length 0 gives nothing.
    assert tokens(GreedyDecoder()(lp, torch.tensor([0, 1]))) == [[], [2]]


def test_all_blank_gives_empty():
    out = tokens(GreedyDecoder()(frames([0] * 6, 5).unsqueeze(0), torch.tensor([6])))
    assert out == [[]]
    assert MANDARIN.decode(out[0]) == ""


def test_other_blank_index():
    # Blank at id 3 instead of 0: id 0 is then an ordinary token.
    out = tokens(GreedyDecoder(blank=3)(frames([0, 3, 0, 1, 3], 4).unsqueeze(0), torch.tensor([5])))
    assert out == [[0, 0, 1]]


def test_greedy_hypothesis_has_a_frame_per_token_and_the_path_score():
    # a a _ b b _ _ b: tokens a b b emitted at frames 0, 3, 7
    lp = frames([1, 1, 0, 2, 2, 0, 0, 2], 3)
    (hyp,), = GreedyDecoder()(lp.unsqueeze(0), torch.tensor([8]))
    assert hyp.tokens == [1, 2, 2] and hyp.frames == [0, 3, 7] and hyp.words == []
    assert abs(hyp.score - float(lp.max(dim=-1).values.sum())) < 1e-5
    # Frames past the length do not count toward the score.
    (short,), = GreedyDecoder()(lp.unsqueeze(0), torch.tensor([4]))
    assert short.frames == [0, 3] and abs(short.score - float(lp[:4].max(dim=-1).values.sum())) < 1e-5


def test_ctc_frames_needed():
    vocab = Vocabulary.build(["今天天气好棒棒"])
    assert ctc_frames_needed(vocab.encode("好棒棒")) == 4
    assert ctc_frames_needed(vocab.encode("今天天气好棒棒")) == 9
    assert ctc_frames_needed(vocab.encode("好棒")) == 2
    assert ctc_frames_needed([1, 1, 1]) == 5
    assert ctc_frames_needed([]) == 0
