"""asr.significance: the sign test against exact binomial values, the paired bootstrap and the
verdict on constructed cases (a clear win, ties, identical systems), pairing by id."""

import json
import math

import pytest

from asr.errors import AsrError
from asr.significance import compare, paired_bootstrap, sign_test


@pytest.mark.parametrize("wins, losses, p", [
    (9, 1, 0.021484375),  # 2 * (1 + 10) / 1024
    (1, 9, 0.021484375),
    (10, 0, 2 / 1024),
    (8, 2, 2 * (1 + 10 + 45) / 1024),  # 0.109375
    (6, 4, 2 * (1 + 10 + 45 + 120 + 210) / 1024),  # 0.75390625
    (5, 5, 1.0),
    (0, 0, 1.0),
    (1, 0, 1.0),
    (30, 0, 2 / 2 ** 30),
])
def test_sign_test_is_the_exact_two_sided_binomial(wins, losses, p):
    assert sign_test(wins, losses) == p


def test_sign_test_against_the_binomial_sum():
    n, k = 25, 7
    assert sign_test(n - k, k) == pytest.approx(2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)


def results(errors: list[int], words: int = 4) -> list[dict]:
    """Utterances of `words` words "w0 w1 ..." whose hypotheses get the first `e` words wrong."""
    out = []
    for i, e in enumerate(errors):
        ref = [f"w{j}" for j in range(words)]
        hyp = ["x"] * e + ref[e:]
        out.append({"id": f"u{i:03d}", "ref": " ".join(ref), "hyp": " ".join(hyp)})
    return out


def test_a_clear_win_is_significant_in_both_tests():
    a = results([1] * 30 + [0] * 10)  # B fixes 30 of 40 utterances and breaks none
    b = results([0] * 40)
    c = compare(a, b)
    assert (c.b_better, c.a_better, c.ties, c.utterances) == (30, 0, 10, 40)
    assert c.a.errors == 30 and c.b.errors == 0 and c.a.length == c.b.length == 160
    assert c.bootstrap_p < 0.01 and c.sign_p < 0.01
    assert c.sign_p == sign_test(30, 0)
    assert c.verdict == "B is better than A: WER 0.00 % vs 18.75 %, p < 0.001 (paired bootstrap)"
    low, high = c.interval
    assert low < high < 0  # B's WER minus A's: negative throughout


def test_the_win_the_other_way_names_a():
    c = compare(results([0] * 40), results([1] * 30 + [0] * 10))
    assert (c.b_better, c.a_better) == (0, 30) and c.verdict.startswith("A is better than B: WER 0.00 % vs 18.75 %")


def test_identical_systems_are_not_significantly_different():
    a = results([1, 0, 2, 0, 1] * 8)
    c = compare(a, a)
    assert (c.b_better, c.a_better, c.ties) == (0, 0, 40)
    assert c.bootstrap_p == 1.0 and c.sign_p == 1.0 and c.interval == (0.0, 0.0)
    assert c.verdict.startswith("no significant difference: WER ")


def test_as_many_wins_as_losses_is_not_significant():
    a = results([1] * 10 + [0] * 10 + [0] * 20)
    b = results([0] * 10 + [1] * 10 + [0] * 20)
    c = compare(a, b)
    assert (c.b_better, c.a_better) == (10, 10)
    assert c.sign_p == 1.0 and c.bootstrap_p == 1.0  # same total: no observed difference
    assert "no significant difference" in c.verdict


def test_a_small_difference_is_not_significant():
    a = results([1] * 3 + [0] * 37)
    b = results([0] * 2 + [1] + [0] * 37)  # B fixes 2, A and B share one error
    c = compare(a, b)
    assert (c.b_better, c.a_better) == (2, 0)
    assert c.sign_p == 0.5 and c.bootstrap_p > 0.05
    assert c.verdict.startswith("no significant difference: WER 1.88 % (A) vs 0.62 % (B), p = ")


def test_the_bootstrap_is_repeatable_with_its_seed():
    a, b = [1, 0, 2, 0, 1, 3, 0, 0] * 5, [0, 0, 1, 1, 1, 1, 0, 0] * 5
    lengths = [4] * 40
    assert paired_bootstrap(a, b, lengths, seed=3) == paired_bootstrap(a, b, lengths, seed=3)
    p, (low, high) = paired_bootstrap(a, b, lengths, resamples=2000)
    assert 0 <= p <= 1 and low <= (sum(b) - sum(a)) / sum(lengths) <= high


def test_bootstrap_p_is_twice_the_share_of_flipped_resamples():
    # one utterance carries the whole difference: a resample without it (probability (1 - 1/n)^n) has none
    n = 5
    p, _ = paired_bootstrap([1] + [0] * (n - 1), [0] * n, [1] * n, resamples=20000, seed=1)
    assert p == pytest.approx(2 * (1 - 1 / n) ** n, abs=0.03)


def test_mandarin_is_compared_by_character():
    a = [{"id": "1", "ref": "今天天气好", "hyp": "今天天汽好"}, {"id": "2", "ref": "好棒", "hyp": "好棒棒"}]
    b = [{"id": "2", "ref": "好棒", "hyp": "好棒"}, {"id": "1", "ref": "今天天气好", "hyp": "今天天气好"}]
    c = compare(a, b)
    assert c.metric == "cer" and c.a.errors == 2 and c.b.errors == 0 and c.a.length == 7
    assert c.b_better == 2


def test_results_of_different_utterances_are_refused():
    with pytest.raises(AsrError, match="different utterances"):
        compare(results([0, 0]), results([0, 0, 0]))
    b = results([0, 0])
    b[1]["ref"] = "something else"
    with pytest.raises(AsrError, match="different references"):
        compare(results([0, 0]), b)
    with pytest.raises(AsrError, match="several results with one id"):
        compare(results([0, 0]) * 2, results([0, 0]) * 2)


def test_comparison_is_plain_data():
    d = json.loads(json.dumps(compare(results([1] * 30 + [0] * 10), results([0] * 40)).to_dict()))
    assert d["a"] == {"name": "A", "errors": 30, "length": 160, "rate": 0.1875}
    assert d["b_better"] == 30 and d["metric"] == "wer" and d["resamples"] == 1000 and d["seed"] == 0
    assert d["verdict"].startswith("B is better than A") and len(d["interval"]) == 2
