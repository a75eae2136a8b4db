"""asr.lm: modified Kneser-Ney estimates checked by hand, normalisation, pruning,
the ARPA format (round trip, KenLM inside flashlight-text) and agreement with
KenLM's lmplz (skipped where lmplz is not installed)."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import subprocess
from fractions import Fraction as F
from pathlib import Path

import pytest

from asr import lm
from asr.errors import AsrError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AN4 = DATA / "an4" / "etc"

# Toy corpora small enough to estimate by hand, yet with every discount
# estimable (counts-of-counts n1..n4 all non-zero at every order), and which
# lmplz accepts too (see "lmplz's counts-of-counts" in asr/lm.py).
TOY2 = ["a", "a", "c b b", "a", "a b c", "b", "c"]
TOY3 = ["a c", "c c c", "c c", "b a", "a a", "a c a", "c c a", "c c"]


def split(lines):
    return [line.split() for line in lines]


def close(logprob: float, p) -> bool:
    """A log10 value against a probability computed by hand (exact fractions)."""
    return math.isclose(logprob, math.log10(p), abs_tol=1e-9)


def generated(sentences: int, seed: int = 0, vocab: int = 1000) -> list[list[str]]:
    """A small Markov-chain corpus: Zipf-distributed words (p(rank r) ~ 1/r), each
    followed 60 % of the time by one of its three favoured successors."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab)]
    weights = [1 / r for r in range(1, vocab + 1)]
    successors = {w: random.Random(w).choices(words, weights, k=3) for w in words}
    out = []
    for _ in range(sentences):
        sentence = rng.choices(words, weights)
        for _ in range(rng.randint(0, 8)):
            follow = rng.random() < 0.6
            sentence.append(rng.choice(successors[sentence[-1]]) if follow else rng.choices(words, weights)[0])
        out.append(sentence)
    return out


def an4_sentences(split_name: str) -> list[list[str]]:
    """AN4 transcripts ("<s> YES </s> (an251-fash-b)" or "YES (an406-fcaw-b)") as word lists."""
    path = AN4 / f"an4_{split_name}.transcription"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.rsplit("(", 1)[0].split()
        out.append([w for w in words if w not in ("<s>", "</s>")])
    return out


# ---------------------------------------------------------------------------
# Estimates computed by hand

def test_bigram_by_hand():
    model = lm.build(split(TOY2), order=2)
    P, B = model.probs, model.backoffs
    # Padded: <s> a </s> (3 times) | <s> c b b </s> | <s> a b c </s> | <s> b </s> | <s> c </s>
    # Bigram counts (the highest order keeps raw counts), 18 = 11 units + 7 </s>:
    #   <s> a 4, <s> c 2, <s> b 1, a </s> 3, a b 1, b b 1, b </s> 2, b c 1, c b 1, c </s> 2
    # counts-of-counts n1..n4 = 5, 3, 1, 1; Y = n1 / (n1 + 2 n2) = 5/11
    #   D1 = 1 - 2 Y n2/n1 = 1 - 2 * 5/11 * 3/5 = 5/11
    #   D2 = 2 - 3 Y n3/n2 = 2 - 3 * 5/11 * 1/3 = 17/11
    #   D3 = 3 - 4 Y n4/n3 = 3 - 4 * 5/11 * 1/1 = 13/11
    D = {1: F(5, 11), 2: F(17, 11), 3: F(13, 11), 4: F(13, 11)}
    # Unigram continuation counts (distinct units before each):
    #   a: {<s>} 1; b: {c, b, a, <s>} 4; c: {<s>, b} 2; </s>: {a, b, c} 3; <unk>, <s>: 0
    # counts-of-counts 1, 1, 1, 1: Y = 1/3, D1 = 1 - 2/3 = 1/3, D2 = 2 - 1 = 1, D3 = 3 - 4/3 = 5/3
    d = {0: F(0), 1: F(1, 3), 2: F(1), 3: F(5, 3), 4: F(5, 3)}
    a1 = {"a": 1, "b": 4, "c": 2, "</s>": 3, "<unk>": 0}
    total = 10  # 1 + 4 + 2 + 3
    gamma0 = (d[1] + d[4] + d[2] + d[3]) / total  # (1/3 + 5/3 + 1 + 5/3) / 10 = 7/15
    assert gamma0 == F(7, 15)
    uniform = F(1, 5)  # <unk>, </s>, a, b, c (every unigram but <s>)
    p1 = {w: (c - d[c]) / total + gamma0 * uniform for w, c in a1.items()}
    # e.g. p(b) = (4 - 5/3) / 10 + 7/15 * 1/5 = 7/30 + 7/75 = 49/150; <unk> gets only its share 7/75
    assert p1 == {"a": F(12, 75), "b": F(49, 150), "c": F(29, 150), "</s>": F(17, 75), "<unk>": F(7, 75)}
    assert sum(p1.values()) == 1
    for w, p in p1.items():
        assert close(P[0][(w,)], p), w
    assert P[0][("<s>",)] == -99
    # Bigram contexts: sum of counts, and gamma = (D1 N1 + D2 N2 + D3 N3+) / sum
    #   <s>: 4 + 2 + 1 = 7, gamma = (D3 + D2 + D1) / 7 = (13/11 + 17/11 + 5/11) / 7 = 5/11
    #   a:   3 + 1 = 4,     gamma = (D3 + D1) / 4 = (13/11 + 5/11) / 4 = 9/22
    #   b:   1 + 2 + 1 = 4, gamma = (D1 + D2 + D1) / 4 = (5/11 + 17/11 + 5/11) / 4 = 27/44
    #   c:   1 + 2 = 3,     gamma = (D1 + D2) / 3 = (5/11 + 17/11) / 3 = 2/3
    gamma = {"<s>": F(5, 11), "a": F(9, 22), "b": F(27, 44), "c": F(2, 3)}
    for h, g in gamma.items():
        assert close(B[0][(h,)], g), h
    assert ("</s>",) not in B[0] and ("<unk>",) not in B[0]  # never a context: backoff 0
    bigrams = {("<s>", "a"): 4, ("<s>", "c"): 2, ("<s>", "b"): 1, ("a", "</s>"): 3, ("a", "b"): 1,
               ("b", "b"): 1, ("b", "</s>"): 2, ("b", "c"): 1, ("c", "b"): 1, ("c", "</s>"): 2}
    sums = {"<s>": 7, "a": 4, "b": 4, "c": 3}
    assert set(P[1]) == set(bigrams)
    for (h, w), c in bigrams.items():
        # p(w | h) = (c - D(c)) / sum(h) + gamma(h) p(w)
        assert close(P[1][(h, w)], (c - D[c]) / sums[h] + gamma[h] * p1[w]), (h, w)
    # e.g. p(a | <s>) = (4 - 13/11) / 7 + 5/11 * 12/75 = 31/77 + 4/55 = 183/385
    assert close(P[1][("<s>", "a")], F(183, 385))
    # Unseen bigram: backoff. p(a | b) = gamma(b) p(a) = 27/44 * 12/75
    assert close(model.logprob("a", ["<s>", "b"]), F(27, 44) * F(12, 75))
    # Unknown unit: <unk>. p(zzz | c) = gamma(c) p(<unk>) = 2/3 * 7/75
    assert close(model.logprob("zzz", ["c"]), F(2, 3) * F(7, 75))


def test_trigram_by_hand():
    model = lm.build(split(TOY3), order=3)
    P, B = model.probs, model.backoffs
    # Padded: <s> <s> a c </s> | <s> <s> c c c </s> | <s> <s> c c </s> | <s> <s> b a </s> |
    #         <s> <s> a a </s> | <s> <s> a c a </s> | <s> <s> c c a </s> | <s> <s> c c </s>
    # Trigram counts (raw; a window <s> <s> x is the bigram <s> x):
    #   <s> c c 4, c c </s> 3, <s> a c 2, c a </s> 2, and 1 each for
    #   a c </s>, c c c, <s> b a, b a </s>, <s> a a, a a </s>, a c a, c c a
    # counts-of-counts 8, 2, 1, 1: Y = 8/12 = 2/3, D1 = 1 - 2 * 2/3 * 2/8 = 2/3,
    #   D2 = 2 - 3 * 2/3 * 1/2 = 1, D3 = 3 - 4 * 2/3 * 1/1 = 1/3
    D3 = {1: F(2, 3), 2: F(1), 3: F(1, 3), 4: F(1, 3)}
    # Bigram counts: those starting with <s> keep their raw counts (<s> a 3, <s> c 4, <s> b 1);
    # the others count distinct units before them in the trigrams:
    #   a c: {<s>} 1; c </s>: {a, c} 2; c c: {<s>, c} 2; b a: {<s>} 1; a </s>: {b, a, c} 3;
    #   a a: {<s>} 1; c a: {a, c} 2
    # counts-of-counts 4, 3, 2, 1: Y = 4/10 = 2/5, D1 = 1 - 2 * 2/5 * 3/4 = 2/5,
    #   D2 = 2 - 3 * 2/5 * 2/3 = 6/5, D3 = 3 - 4 * 2/5 * 1/2 = 11/5
    D2 = {1: F(2, 5), 2: F(6, 5), 3: F(11, 5), 4: F(11, 5)}
    # Unigram counts: a: {b, a, c, <s>} 4; c: {a, c, <s>} 3; b: {<s>} 1; </s>: {c, a} 2
    # counts-of-counts 1, 1, 1, 1: D = 1/3, 1, 5/3 as in the bigram test; sum 10,
    # gamma = (5/3 + 5/3 + 1/3 + 1) / 10 = 7/15, uniform 1/5 (<unk>, </s>, a, b, c)
    D1 = {0: F(0), 1: F(1, 3), 2: F(1), 3: F(5, 3), 4: F(5, 3)}
    p1 = {w: (c - D1[c]) / 10 + F(7, 15) / 5 for w, c in {"a": 4, "b": 1, "c": 3, "</s>": 2, "<unk>": 0}.items()}
    assert p1 == {"a": F(49, 150), "b": F(12, 75), "c": F(17, 75), "</s>": F(29, 150), "<unk>": F(7, 75)}
    for w, p in p1.items():
        assert close(P[0][(w,)], p), w
    # Bigram contexts (sum, gamma):
    #   <s>: 3 + 4 + 1 = 8, (D3 + D3 + D1) / 8 = (11/5 + 11/5 + 2/5) / 8 = 3/5
    #   a:   1 + 3 + 1 = 5, (D1 + D3 + D1) / 5 = (2/5 + 11/5 + 2/5) / 5 = 3/5
    #   c:   2 + 2 + 2 = 6, 3 D2 / 6 = 3/5
    #   b:   1,             D1 / 1 = 2/5
    g2 = {"<s>": F(3, 5), "a": F(3, 5), "c": F(3, 5), "b": F(2, 5)}
    for h, g in g2.items():
        assert close(B[0][(h,)], g), h
    p2 = {
        ("<s>", "c"): (4 - D2[4]) / 8 + g2["<s>"] * p1["c"],  # 9/40 + 3/5 * 17/75 = 0.361
        ("c", "c"): (2 - D2[2]) / 6 + g2["c"] * p1["c"],  # 2/15 + 3/5 * 17/75
        ("c", "a"): (2 - D2[2]) / 6 + g2["c"] * p1["a"],  # 2/15 + 3/5 * 49/150
        ("c", "</s>"): (2 - D2[2]) / 6 + g2["c"] * p1["</s>"],  # 2/15 + 3/5 * 29/150
        ("a", "</s>"): (3 - D2[3]) / 5 + g2["a"] * p1["</s>"],  # 4/25 + 3/5 * 29/150 = 0.276
    }
    assert p2[("<s>", "c")] == F(361, 1000) and p2[("a", "</s>")] == F(276, 1000)
    for gram, p in p2.items():
        assert close(P[1][gram], p), gram
    # Trigram contexts (sum, gamma):
    #   <s> c: 4,             D3 / 4 = (1/3) / 4 = 1/12
    #   c c:   1 + 3 + 1 = 5, (D1 + D3 + D1) / 5 = (2/3 + 1/3 + 2/3) / 5 = 1/3
    #   c a:   2,             D2 / 2 = 1/2
    g3 = {("<s>", "c"): F(1, 12), ("c", "c"): F(1, 3), ("c", "a"): F(1, 2)}
    for h, g in g3.items():
        assert close(B[1][h], g), h
    p3 = {
        ("<s>", "c", "c"): (4 - D3[4]) / 4 + g3[("<s>", "c")] * p2[("c", "c")],  # 11/12 + 1/12 p(c | c)
        ("c", "c", "a"): (1 - D3[1]) / 5 + g3[("c", "c")] * p2[("c", "a")],  # 1/15 + 1/3 p(a | c)
        ("c", "c", "</s>"): (3 - D3[3]) / 5 + g3[("c", "c")] * p2[("c", "</s>")],  # 8/15 + 1/3 p(</s> | c)
        ("c", "a", "</s>"): (2 - D3[2]) / 2 + g3[("c", "a")] * p2[("a", "</s>")],  # 1/2 + 1/2 * 0.276 = 0.638
    }
    assert p3[("c", "a", "</s>")] == F(638, 1000)
    for gram, p in p3.items():
        assert close(P[2][gram], p), gram
    # Sentences: p(c | <s>) p(c | <s> c) p(</s> | c c), and the same with "a" before </s>
    assert close(model.score(["c", "c"]), p2[("<s>", "c")] * p3[("<s>", "c", "c")] * p3[("c", "c", "</s>")])
    assert close(model.score(["c", "c", "a"]), p2[("<s>", "c")] * p3[("<s>", "c", "c")] * p3[("c", "c", "a")]
                 * p3[("c", "a", "</s>")])
    # Backing off once: no "<s> c a", so p(a | <s> c) = gamma(<s> c) p(a | c)
    assert close(model.logprob("a", ["<s>", "c"]), g3[("<s>", "c")] * p2[("c", "a")])
    # Twice: no "c c b", no "c b": gamma(c c) gamma(c) p(b); an unknown unit likewise reaches <unk>
    assert close(model.logprob("b", ["a", "c", "c"]), g3[("c", "c")] * g2["c"] * p1["b"])
    assert close(model.logprob("zzz", ["c", "c"]), g3[("c", "c")] * g2["c"] * p1["<unk>"])


def test_discounts_formula():
    # Chen & Goodman eq. 26 with n1..n4 = 100, 40, 20, 10: Y = 100/180 = 5/9
    # D1 = 1 - 2 * 5/9 * 40/100 = 5/9, D2 = 2 - 3 * 5/9 * 20/40 = 7/6, D3 = 3 - 4 * 5/9 * 10/20 = 17/9
    assert lm.discounts([100, 40, 20, 10]) == pytest.approx((5 / 9, 7 / 6, 17 / 9))
    with pytest.raises(AsrError, match="adjusted count 2"):
        lm.discounts([5, 0, 3, 1])
    # n1..n4 = 10, 1, 10, 1: Y = 10/12, D2 = 2 - 3 * 10/12 * 10/1 = -23
    with pytest.raises(AsrError, match=r"D2 = -23.0000 is outside \[0, 2\]"):
        lm.discounts([10, 1, 10, 1])


# ---------------------------------------------------------------------------
# Normalisation, pruning, orders

def contexts(model: lm.NgramModel):
    """Every context the model can be asked about: (), each n-gram below the top
    order that can precede a unit, and one unseen context per order."""
    yield ()
    for k in range(model.order - 1):
        for gram in model.probs[k]:
            if gram[-1] not in ("</s>", "<unk>") and (gram[0] == "<s>" or "<s>" not in gram):
                yield gram
        yield ("w0",) * k + ("never-seen",)


def assert_normalised(model: lm.NgramModel):
    units = [w for w in model.vocabulary if w != "<s>"]
    checked = 0
    for context in contexts(model):
        total = sum(10 ** model.logprob(w, context) for w in units)
        assert total == pytest.approx(1.0, abs=1e-6), context
        checked += 1
    assert checked >= model.order


@pytest.mark.parametrize("order", [1, 2, 3, 4, 6])
def test_every_context_sums_to_one(order):
    # Normalisation holds whatever the discounts: fallback ones where 300 sentences are too few
    assert_normalised(lm.build(generated(300, vocab=100), order, discount_fallback=lm.FALLBACK_DISCOUNTS))


def test_toy_contexts_sum_to_one():
    assert_normalised(lm.build(split(TOY2), 2))
    assert_normalised(lm.build(split(TOY3), 3))


def test_pruning_keeps_the_model_normalised_and_consistent():
    sentences = generated(400, vocab=200)
    full = lm.build(sentences, 3)
    pruned = lm.build(sentences, 3, prune=[0, 1])  # [0, 1] is [0, 1, 1]: bigrams and trigrams seen once go
    assert pruned.counts[0] == full.counts[0]
    assert pruned.counts[1] < full.counts[1] and pruned.counts[2] < full.counts[2]
    assert_normalised(pruned)
    for k in range(1, 3):
        for gram in pruned.probs[k]:
            assert gram[:-1] in pruned.probs[k - 1] and gram[1:] in pruned.probs[k - 1], gram
    # A kept trigram of count > 1 is also in the full model; the pruned model differs from it
    assert set(pruned.probs[2]) <= set(full.probs[2])
    held_out = generated(50, seed=1, vocab=200)
    assert lm.perplexity(pruned, held_out) != lm.perplexity(full, held_out)
    # Pruning only trigrams leaves the bigrams alone
    assert lm.build(sentences, 3, prune=[0, 0, 1]).probs[1] == full.probs[1]


def test_token_units():
    # A character LM with "|" between words: the caller spells the sentences.
    sentences = [list("|".join(line.split())) for line in TOY2 * 3 + ["abc cab", "cc ba"]]
    model = lm.build(sentences, 4, discount_fallback=lm.FALLBACK_DISCOUNTS)
    assert set(model.vocabulary) == {"<unk>", "<s>", "</s>", "a", "b", "c", "|"}
    assert_normalised(model)


def test_held_out_perplexity_of_a_bigram_process():
    # The generated text is a first-order Markov chain: a bigram model predicts it far better
    # than unigrams; a trigram adds nothing real (a little more noise at most).
    train, test = generated(600, vocab=300), generated(100, seed=1, vocab=300)
    ppl = [lm.perplexity(lm.build(train, n), test) for n in (1, 2, 3)]
    assert 1 < ppl[1] < 0.7 * ppl[0] and ppl[2] < 1.1 * ppl[1]


# ---------------------------------------------------------------------------
# ARPA files

def test_arpa_round_trip(tmp_path):
    model = lm.build(generated(300), 3)
    first = tmp_path / "lm.arpa"
    model.write_arpa(first)
    text = first.read_text(encoding="utf-8")
    assert text.startswith("\\data\\\nngram 1=") and text.endswith("\n\\end\\\n")
    assert "-99\t<s>\t" in text
    again = lm.read_arpa(first)
    assert again.counts == model.counts
    for k in range(3):
        assert again.probs[k].keys() == model.probs[k].keys()
        for gram, p in model.probs[k].items():
            assert again.probs[k][gram] == pytest.approx(p, rel=1e-7, abs=1e-9)
    for k in range(2):
        assert again.backoffs[k].keys() == {g for g, b in model.backoffs[k].items() if f"{b:.8g}" != "0"}
    second = tmp_path / "again.arpa"
    again.write_arpa(second)
    assert second.read_bytes() == first.read_bytes()


def test_read_arpa_errors(tmp_path):
    good = tmp_path / "good.arpa"
    lm.build(split(TOY2), 2).write_arpa(good)
    lines = good.read_text().splitlines()

    def broken(name, text):
        path = tmp_path / name
        path.write_text(text)
        return path

    with pytest.raises(AsrError, match="cut short"):
        lm.read_arpa(broken("short.arpa", "\n".join(lines[:-3]) + "\n"))
    with pytest.raises(AsrError, match=r"bad\.arpa:\d+: not a number"):
        lm.read_arpa(broken("bad.arpa", "\n".join(lines).replace("-99\t<s>", "x\t<s>") + "\n"))
    with pytest.raises(AsrError, match="header says"):
        lm.read_arpa(broken("count.arpa", "\n".join(lines).replace(lines[1], "ngram 1=99") + "\n"))
    with pytest.raises(AsrError, match="not an ARPA file"):
        lm.read_arpa(broken("text.arpa", "hello world\n"))
    with pytest.raises(AsrError, match="cannot read"):
        lm.read_arpa(tmp_path / "missing.arpa")
    with pytest.raises(AsrError, match="cannot write"):
        lm.build(split(TOY2), 2).write_arpa(good / "inside-a-file.arpa")


def kenlm_scores(arpa: Path, vocabulary, sentences):
    """log10 sentence scores by the KenLM inside flashlight-text, as torchaudio's decoder loads it."""
    decoder = pytest.importorskip("flashlight.lib.text.decoder.kenlm")
    dictionary = pytest.importorskip("flashlight.lib.text.dictionary")
    words = dictionary.create_word_dict({w: [[w]] for w in vocabulary})
    kenlm = decoder.KenLM(str(arpa), words)
    scores = []
    for sentence in sentences:
        state, total = kenlm.start(False), 0.0
        for word in sentence:
            state, score = kenlm.score(state, words.get_index(word))
            total += score
        state, score = kenlm.finish(state)
        scores.append(total + score)
    return scores


@pytest.mark.parametrize("order, prune", [(2, ()), (3, ()), (5, ()), (3, (0, 1))])
def test_kenlm_loads_the_arpa_and_agrees(tmp_path, order, prune):
    # (KenLM refuses order 1: "This ngram implementation assumes at least a bigram model".)
    model = lm.build(generated(300), order, prune=prune)
    arpa = tmp_path / "lm.arpa"
    model.write_arpa(arpa)
    sentences = generated(20, seed=7) + [["w1", "unseen-word", "w2"], []]
    theirs = kenlm_scores(arpa, model.vocabulary + ["unseen-word"], sentences)
    ours = [model.score(s) for s in sentences]
    assert ours == pytest.approx(theirs, abs=2e-4)  # KenLM keeps float32 log10 values


# ---------------------------------------------------------------------------
# Bad input

@pytest.mark.parametrize("sentences, order, prune, message", [
    ([["a"]], 0, (), "order must be a whole number from 1 to 6"),
    ([["a"]], 7, (), "from 1 to 6"),
    ([], 2, (), "no sentences"),
    ([[], []], 2, (), "all 2 sentences of the corpus are empty"),
    (["a b c"], 2, (), "sentence 1 is a string"),
    ([["a"], ["<s>", "a"]], 2, (), r"sentence 2 \('<s> a'\): <s> is a unit the model adds itself"),
    ([["a", "<unk>"]], 2, (), "<unk> is a unit the model adds itself"),
    ([["a", "b c"]], 2, (), "contains whitespace"),
    ([["a", ""]], 2, (), "an empty unit"),
    ([["a", 3]], 2, (), "units must be strings"),
    ([["a"]], 3, (1,), "the first must be 0"),
    ([["a"]], 3, (0, 2, 1), "must not decrease"),
    ([["a"]], 2, (0, 0, 0), "3 pruning thresholds for a model of order 2"),
    ([["a"]], 2, (0, -1), "whole numbers >= 0"),
])
def test_bad_input(sentences, order, prune, message):
    with pytest.raises(AsrError, match=message):
        lm.build(sentences, order, prune=prune)


def test_tiny_corpus_needs_fallback_discounts():
    with pytest.raises(AsrError, match=r"1-grams: .* discount_fallback|fallback discounts"):
        lm.build([["a", "b"], ["a", "b"]], 2)
    lines = []
    model = lm.build([["a", "b"], ["a", "b"]], 2, discount_fallback=lm.FALLBACK_DISCOUNTS, log=lines.append)
    assert any("using the fallback discounts" in line for line in lines)
    assert_normalised(model)
    with pytest.raises(AsrError, match="three discounts"):
        lm.build([["a"]], 2, discount_fallback=(0.5, 1.0))


# ---------------------------------------------------------------------------
# Reading text

def test_read_corpus(tmp_path):
    text = tmp_path / "a.txt"
    text.write_bytes(b"\xef\xbb\xbfhello world\n\n  \nsecond line\r\n")
    records = [{"id": "u1", "audio": "u1.wav", "duration": 1.0, "text": "from a manifest"},
               {"id": "u2", "audio": "u2.wav", "duration": 2.0, "text": "and another"}]
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    lines = list(lm.read_corpus([text, jsonl]))
    assert lines == [(f"{text}:1", "hello world"), (f"{text}:4", "second line"),
                     (f"{jsonl}:1", "from a manifest"), (f"{jsonl}:2", "and another")]
    assert lines[0].where == f"{text}:1" and lines[0].text == "hello world"
    with pytest.raises(AsrError, match="no such file"):
        list(lm.read_corpus([tmp_path / "missing.txt"]))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(records[0]) + "\n{not json\n")
    with pytest.raises(AsrError, match=r"bad\.jsonl:2"):
        list(lm.read_corpus([bad]))
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"ok\ncaf\xe9\n")
    with pytest.raises(AsrError, match=r"latin\.txt:2: not UTF-8"):
        list(lm.read_corpus([latin]))


# ---------------------------------------------------------------------------
# Agreement with KenLM's lmplz (where it is installed)

def lmplz_binary() -> str:
    binary = os.environ.get("ASR_LMPLZ") or shutil.which("lmplz")
    if not binary:
        pytest.skip("KenLM's lmplz is not installed (put it on PATH or set ASR_LMPLZ to compare with it)")
    return binary


def lmplz(binary: str, sentences, order: int, work: Path, *options: str) -> lm.NgramModel:
    text, arpa = work / f"corpus{order}.txt", work / f"lmplz{order}.arpa"
    text.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
    subprocess.run([binary, "-o", str(order), "-S", "100M", "-T", str(work), "--text", str(text),
                    "--arpa", str(arpa), *options], check=True, capture_output=True)
    return lm.read_arpa(arpa)


def assert_same_model(ours: lm.NgramModel, theirs: lm.NgramModel):
    """Every n-gram, probability and backoff within lmplz's float32 precision
    (lmplz writes 0 for <s>, which is never predicted; asr writes -99)."""
    assert ours.counts == theirs.counts
    for k in range(ours.order):
        assert ours.probs[k].keys() == theirs.probs[k].keys()
        for gram, p in theirs.probs[k].items():
            if gram != ("<s>",):
                assert ours.probs[k][gram] == pytest.approx(p, abs=1e-5), gram
    for k in range(ours.order - 1):
        for gram in ours.backoffs[k].keys() | theirs.backoffs[k].keys():
            assert ours.backoffs[k].get(gram, 0.0) == pytest.approx(theirs.backoffs[k].get(gram, 0.0), abs=1e-5)


@pytest.mark.parametrize("order, prune", [(2, ()), (3, ()), (4, ()), (3, (0, 1, 1))])
def test_agrees_with_lmplz(tmp_path, order, prune):
    binary = lmplz_binary()
    if (AN4 / "an4_train.transcription").is_file():
        train, test = an4_sentences("train"), an4_sentences("test")
    else:  # the AN4 transcripts (../shared/data/an4) are absent: a generated corpus
        train, test = generated(600), generated(150, seed=1)
    ours = lm.build(train, order, prune=prune)
    theirs = lmplz(binary, train, order, tmp_path, *(["--prune", *map(str, prune)] if prune else []))
    assert_same_model(ours, theirs)
    mine, reference = lm.perplexity(ours, test), lm.perplexity(theirs, test)
    assert mine == pytest.approx(reference, rel=0.02)  # the bar; in fact they agree to ~1e-6
    assert mine == pytest.approx(reference, rel=1e-4)


def test_agrees_with_lmplz_on_the_toy_corpora(tmp_path):
    binary = lmplz_binary()
    assert_same_model(lm.build(split(TOY2), 2), lmplz(binary, split(TOY2), 2, tmp_path))
    assert_same_model(lm.build(split(TOY3), 3), lmplz(binary, split(TOY3), 3, tmp_path))
    # Too small to estimate discounts: both fall back to 0.5, 1, 1.5 when told to
    tiny = [["a", "b"], ["a", "b", "b"]]
    assert_same_model(lm.build(tiny, 3, discount_fallback=lm.FALLBACK_DISCOUNTS),
                      lmplz(binary, tiny, 3, tmp_path, "--discount_fallback"))
