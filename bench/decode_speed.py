"""Decoding speed: greedy, flashlight beam search (asr.beam) with a 3-gram word LM and a
lexicon, the same with 100 hotwords, and a plain-Python CTC prefix beam search.

    python bench/decode_speed.py --json [--utterances 200] [--beam-size 50] [--lm lm.arpa]
    python bench/decode_speed.py --json --model exp/an4/model.pt --manifest data/an4/test.jsonl

Speeds are seconds of audio decoded per second of wall time on one CPU thread
(torch.set_num_threads(1)), so 100 means 100 x real time. The posteriors are
computed beforehand and are the same for every decoder.

Posteriors. Synthetic (the default): AN4-like sentences (spelt letters, digits,
dates, commands) drawn from a small grammar and spelt in characters with `|`
between words, each token a spike of one or two frames with blanks between,
at 33.3 output frames per second of audio (100 feature frames/s, subsampled 3x),
with noise and a few percent of spikes won by a wrong letter. With --model and
--manifest: the model's own log-probabilities on the manifest's audio.

LM. A 3-gram word ARPA written here (absolute discounting with Katz backoff) from
2000 other sentences of the grammar (model mode: from --lm-text, by default the
manifest's train.jsonl sibling), or --lm. The lexicon is the LM's words spelt in
the model's tokens. Hotwords: 100 made-up words outside the LM and lexicon
(added to the lexicon with their spelling), boost 5.

The prefix beam search is the textbook one (Hannun et al. 2014): prefixes with
blank/non-blank log-probabilities, the same LM applied at each `|` through the
same KenLM object, tokens below -12 nats skipped.

Prints one JSON object on stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asr.beam import UNK, BeamDecoder, BeamSettings, load_kenlm
from asr.decoding import GreedyDecoder
from asr.errors import AsrError
from asr.hotwords import arpa_vocabulary
from asr.lexicon import write_lexicon

FRAMES_PER_SECOND = 100 / 3
LETTERS = "abcdefghijklmnopqrstuvwxyz'"
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth", "thirteenth", "twentieth", "thirtieth"]
COMMANDS = ["enter", "erase", "rubout", "repeat", "stop", "go", "start", "help", "yes", "no"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- text and LM -------------------------------------------------------------------------

def sentence(rng: random.Random) -> str:
    """One AN4-like sentence: letters spelt out, a number, a date, or a command."""
    kind = rng.random()
    if kind < 0.3:
        return " ".join(rng.choice(LETTERS[:-1]) for _ in range(rng.randint(3, 8)))
    if kind < 0.55:
        return " ".join(rng.choice(DIGITS) for _ in range(rng.randint(3, 9)))
    if kind < 0.8:
        year = f"nineteen {rng.choice(TENS)} {rng.choice(DIGITS[1:10])}"
        return f"{rng.choice(MONTHS)} {rng.choice(ORDINALS)} {year}"
    if kind < 0.9:
        return f"{rng.choice(COMMANDS)} {rng.choice(TEENS + TENS)} {rng.choice(DIGITS)}"
    return " ".join(rng.choice(COMMANDS) for _ in range(rng.randint(1, 3)))


def write_arpa(sentences: list[str], path: Path, order: int = 3, discount: float = 0.5) -> dict:
    """A word n-gram ARPA by absolute discounting with Katz backoff; returns the n-gram counts."""
    counts: list[Counter] = [Counter() for _ in range(order + 1)]
    for s in sentences:
        words = ["<s>"] + s.split() + ["</s>"]
        for n in range(1, order + 1):
            for i in range(len(words) - n + 1):
                counts[n][tuple(words[i:i + n])] += 1
    logp: list[dict] = [{} for _ in range(order + 1)]
    bow: list[dict] = [{} for _ in range(order + 1)]
    unigrams = {g: c for g, c in counts[1].items() if g != ("<s>",)}
    total = sum(unigrams.values())
    spare = discount * len(unigrams) / total / (len(unigrams) + 1)  # spread over the words and <unk>
    for g, c in unigrams.items():
        logp[1][g] = math.log10((c - discount) / total + spare)
    logp[1][("<s>",)], logp[1][(UNK,)] = -99.0, math.log10(spare)

    def prob(g: tuple) -> float:  # log10 p(g[-1] | g[:-1]) under the orders built so far
        if g in logp[len(g)]:
            return logp[len(g)][g]
        return bow[len(g) - 1].get(g[:-1], 0.0) + prob(g[1:])

    for n in range(2, order + 1):
        by_context: dict[tuple, dict] = defaultdict(dict)
        for g, c in counts[n].items():
            by_context[g[:-1]][g[-1]] = c
        for h, following in by_context.items():
            seen = sum(following.values())
            for w, c in following.items():
                logp[n][h + (w,)] = math.log10((c - discount) / seen)
            left = discount * len(following) / seen
            lower = sum(10 ** prob(h[1:] + (w,)) for w in following)
            bow[n - 1][h] = math.log10(left / max(1.0 - lower, left))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\\data\\\n" + "".join(f"ngram {n}={len(logp[n])}\n" for n in range(1, order + 1)))
        for n in range(1, order + 1):
            f.write(f"\n\\{n}-grams:\n")
            for g, p in sorted(logp[n].items()):
                b = f"\t{bow[n][g]:.5f}" if n < order and g in bow[n] else ""
                f.write(f"{p:.5f}\t{' '.join(g)}{b}\n")
        f.write("\n\\end\\\n")
    return {f"{n}-grams": len(logp[n]) for n in range(1, order + 1)}


# --- posteriors --------------------------------------------------------------------------

def synthetic_posteriors(text: str, tokens: list[str], rng: random.Random, gen: torch.Generator) -> torch.Tensor:
    """(T, V) log-probs of `text` spoken: a blank lead-in and tail, each token a spike of 1-2
    frames then 0-2 blanks, logits with Gaussian noise and a competing letter per spike (ahead
    of the right one on a few percent of spikes)."""
    ids = {t: i for i, t in enumerate(tokens)}
    spelt = [ids["|" if c == " " else c] for c in text]
    best: list[int] = [0] * rng.randint(3, 10)
    for token in spelt:
        best += [token] * (1 if rng.random() < 0.7 else 2) + [0] * rng.choice((0, 1, 1, 2))
    best += [0] * rng.randint(3, 10)
    V = len(tokens)
    logits = torch.randn(len(best), V, generator=gen)
    for t, token in enumerate(best):
        logits[t, token] += rng.uniform(7.0, 11.0)
        if token != 0:
            other = rng.randrange(2, V)  # a confusable letter, sometimes ahead
            logits[t, other] += rng.uniform(1.0, 5.0) + (5.0 if rng.random() < 0.12 else 0.0)
            logits[t, 0] += rng.uniform(0.0, 5.0)
    return logits.log_softmax(-1)


def model_posteriors(model: Path, manifest_path: Path, limit: int):
    """(list of (T, V) log-probs, references, tokens, separator, word_start) from a trained model.
    Uses the Recognizer API of this version (being rewritten: adjust here when it changes)."""
    from asr import manifest
    from asr.recognizer import Recognizer
    from asr.text import normalize

    rec = Recognizer.load(model, device="cpu")
    utts = manifest.read(manifest_path)[:limit]
    feats = [rec.utterance_features(u) for u in utts]
    out: list = [None] * len(utts)
    for idx, lp, lengths in rec.posteriors(feats):
        for i, b in zip(idx, range(lp.shape[0])):
            out[i] = lp[b, : int(lengths[b])].float().cpu()
    vocab = rec.vocab
    refs = [normalize(u.text, rec.text_settings) for u in utts]
    return out, refs, list(vocab.tokens), vocab.separator, vocab.word_start, vocab, rec


def pad(posteriors: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([p.shape[0] for p in posteriors])
    batch = torch.full((len(posteriors), int(lengths.max()), posteriors[0].shape[1]), -30.0)
    for i, p in enumerate(posteriors):
        batch[i, : p.shape[0]] = p
    return batch, lengths


# --- a plain-Python prefix beam search, for comparison -------------------------------------

def prefix_beam_search(lp: torch.Tensor, beam: int, blank: int, sep: int, lm, words: dict[str, int],
                       tokens: list[str], lm_weight: float, cutoff: float = -12.0) -> str:
    """CTC prefix beam search over characters with a word LM at each separator (log domain)."""
    def logadd(a: float, b: float) -> float:
        if a < b:
            a, b = b, a
        return a if b == -math.inf else a + math.log1p(math.exp(b - a))

    unk = words[UNK]
    start = lm.start(False)
    # prefix -> [p_blank, p_nonblank, lm state, lm score, letters of the current word]
    beams: dict[tuple, list] = {(): [0.0, -math.inf, start, 0.0, ""]}
    for frame in lp.tolist():
        nxt: dict[tuple, list] = {}

        def entry(prefix, state, lm_score, word, nxt=nxt):
            if prefix not in nxt:
                nxt[prefix] = [-math.inf, -math.inf, state, lm_score, word]
            return nxt[prefix]

        candidates = [v for v, x in enumerate(frame) if x > cutoff]
        for prefix, (pb, pnb, state, lm_score, word) in beams.items():
            total = logadd(pb, pnb)
            for v in candidates:
                x = frame[v]
                if v == blank:
                    e = entry(prefix, state, lm_score, word)
                    e[0] = logadd(e[0], total + x)
                    continue
                last = prefix[-1] if prefix else None
                if v == sep:
                    if word:
                        s2, s = lm.score(state, words.get(word, unk))
                        e = entry(prefix + (v,), s2, lm_score + lm_weight * s, "")
                    else:
                        e = entry(prefix + (v,), state, lm_score, "")
                else:
                    e = entry(prefix + (v,), state, lm_score, word + tokens[v])
                e[1] = logadd(e[1], (pb + x) if v == last else (total + x))
                if v == last:  # the repeat without a blank stays the same prefix
                    same = entry(prefix, state, lm_score, word)
                    same[1] = logadd(same[1], pnb + x)
        beams = dict(sorted(nxt.items(), key=lambda kv: logadd(kv[1][0], kv[1][1]) + kv[1][3],
                            reverse=True)[:beam])

    def final(item):
        _, (pb, pnb, state, lm_score, word) = item
        if word:
            state, s = lm.score(state, words.get(word, unk))
            lm_score += lm_weight * s
        return logadd(pb, pnb) + lm_score + lm_weight * lm.finish(state)[1]

    best = max(beams.items(), key=final)[0]
    return "".join(" " if v == sep else tokens[v] for v in best).strip()


# --- measuring ---------------------------------------------------------------------------

def word_errors(refs: list[str], hyps: list[str]) -> float:
    """WER in percent (Levenshtein over words)."""
    errors = words = 0
    for ref, hyp in zip(refs, hyps):
        r, h = ref.split(), hyp.split()
        row = list(range(len(h) + 1))
        for i, rw in enumerate(r, 1):
            prev, row[0] = row[0], i
            for j, hw in enumerate(h, 1):
                prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
        errors += row[-1]
        words += len(r)
    return 100.0 * errors / max(words, 1)


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def made_up_words(n: int, rng: random.Random, avoid: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        w = "".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))
        if w not in avoid and w not in out:
            out.append(w)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the JSON result (always printed; kept for symmetry)")
    ap.add_argument("--utterances", type=int, default=200)
    ap.add_argument("--beam-size", type=int, default=50)
    ap.add_argument("--lm-weight", type=float, default=0.5)
    ap.add_argument("--word-score", type=float, default=0.0)
    ap.add_argument("--hotwords", type=int, default=100)
    ap.add_argument("--prefix-utterances", type=int, default=50, help="utterances for the slow Python search")
    ap.add_argument("--lm", type=Path, help="a word-level ARPA/KenLM file instead of the generated one")
    ap.add_argument("--model", type=Path, help="a trained model.pt: decode its posteriors on --manifest")
    ap.add_argument("--manifest", type=Path, help="utterances to decode with --model")
    ap.add_argument("--lm-text", type=Path, help="with --model: a manifest whose texts make the LM "
                    "(default: train.jsonl beside --manifest)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng, gen = random.Random(args.seed), torch.Generator().manual_seed(args.seed)
    work = Path(tempfile.mkdtemp(prefix="decode_speed_"))

    if args.model:
        if not args.manifest:
            ap.error("--model needs --manifest")
        posteriors, refs, tokens, separator, word_start, vocab, rec = model_posteriors(
            args.model, args.manifest, args.utterances)
        from asr import manifest
        from asr.text import normalize

        lm_text = args.lm_text or args.manifest.with_name("train.jsonl")
        lm_sentences = ([normalize(u.text, rec.text_settings) for u in manifest.read(lm_text)]
                        if lm_text.exists() else refs)
        frames_per_second = 1.0 / rec.frame_seconds
        source = f"model {args.model} on {args.manifest}; LM from " + (
            str(lm_text) if lm_text.exists() else "the decoded manifest's own text (optimistic)")

        def spell(word):
            try:
                return [vocab.tokens[i] for i in vocab.encode(word)]
            except AsrError:  # a character the model has no token for
                return None
    else:
        tokens = ["<blank>", "|"] + list(LETTERS)
        separator, word_start = "|", None
        refs = [sentence(rng) for _ in range(args.utterances)]
        posteriors = [synthetic_posteriors(r, tokens, rng, gen) for r in refs]
        lm_sentences = [sentence(random.Random(args.seed + 1 + i)) for i in range(2000)]
        source = "synthetic AN4-like posteriors"
        frames_per_second = FRAMES_PER_SECOND
        known = set(tokens)

        def spell(word):
            return list(word) if all(c in known for c in word) else None

    lm_counts = None
    lm_path = args.lm
    if lm_path is None:
        lm_path = work / "lm.arpa"
        lm_counts = write_arpa(lm_sentences, lm_path)
    lm_words = sorted((arpa_vocabulary(lm_path) or set()) - {"<s>", "</s>", UNK})
    lexicon = work / "lexicon.txt"
    lex = write_lexicon(lm_words, spell, lexicon)
    hotwords = {w: 5.0 for w in made_up_words(args.hotwords, rng, set(lm_words))}

    audio_s = sum(p.shape[0] for p in posteriors) / frames_per_second
    batch, lengths = pad(posteriors)
    log(f"{source}: {len(posteriors)} utterances, {audio_s:.0f} s of audio; lexicon {lex.written} words")
    itos = tokens

    def text(h):
        if h.words:
            return " ".join(h.words)
        out = "".join(" " if itos[i] == separator else itos[i] for i in h.tokens)
        return " ".join((out.replace(word_start, " ") if word_start else out).split())

    greedy = GreedyDecoder(0)
    greedy_s, greedy_out = timed(lambda: greedy(batch, lengths), repeat=5)
    settings = BeamSettings(beam_size=args.beam_size, lm_weight=args.lm_weight, word_score=args.word_score)
    load_s, beam = timed(lambda: BeamDecoder(tokens, 0, separator, word_start, settings, lm=lm_path, lexicon=lexicon))
    log(f"greedy {audio_s / greedy_s:.0f} x real time; LM + lexicon loaded in {load_s:.3f} s")
    beam_s, beam_out = timed(lambda: beam(batch, lengths))
    log(f"beam {audio_s / beam_s:.0f} x real time")
    hot_load_s, hot = timed(lambda: BeamDecoder(tokens, 0, separator, word_start, settings, lm=lm_path,
                                                lexicon=lexicon, hotwords=hotwords))
    hot_s, hot_out = timed(lambda: hot(batch, lengths))
    log(f"beam with {len(hotwords)} hotwords {audio_s / hot_s:.0f} x real time")

    # The Python prefix search on the first utterances only (it is slow), through the same LM.
    n_prefix = min(args.prefix_utterances, len(posteriors))
    prefix_speed = prefix_wer = None
    if n_prefix:
        word_index = {w: i for i, w in enumerate(lm_words + [UNK])}
        kenlm = load_kenlm(lm_path, lm_words + [UNK])
        sep_id = tokens.index(separator) if separator else -1
        prefix_s, prefix_out = timed(lambda: [
            prefix_beam_search(p, args.beam_size, 0, sep_id, kenlm, word_index, tokens, args.lm_weight)
            for p in posteriors[:n_prefix]])
        prefix_speed = sum(p.shape[0] for p in posteriors[:n_prefix]) / frames_per_second / prefix_s
        prefix_wer = round(word_errors(refs[:n_prefix], prefix_out), 2)
        log(f"python prefix beam {prefix_speed:.1f} x real time")

    result = {
        "source": source,
        "utterances": len(posteriors),
        "audio_s": round(audio_s, 1),
        "frames_per_s": round(frames_per_second, 2),
        "beam_size": args.beam_size,
        "lm": str(args.lm) if args.lm else "3-gram written by the bench",
        "lm_ngrams": lm_counts,
        "lexicon_words": lex.written,
        "hotwords": len(hotwords),
        "threads": torch.get_num_threads(),
        "greedy_audio_s_per_s": round(audio_s / greedy_s, 1),
        "beam_audio_s_per_s": round(audio_s / beam_s, 1),
        "beam_hotwords_audio_s_per_s": round(audio_s / hot_s, 1),
        "hotwords_speed_ratio": round(beam_s / hot_s, 3),
        "lm_load_s": round(load_s, 4),
        "lm_load_hotwords_s": round(hot_load_s, 4),
        "prefix_beam_python_audio_s_per_s": round(prefix_speed, 2) if prefix_speed else None,
        "prefix_beam_python_utterances": n_prefix,
        "wer_greedy": round(word_errors(refs, [text(h[0]) for h in greedy_out]), 2),
        "wer_beam": round(word_errors(refs, [text(h[0]) for h in beam_out]), 2),
        "wer_beam_hotwords": round(word_errors(refs, [text(h[0]) for h in hot_out]), 2),
        "wer_prefix_beam_python": prefix_wer,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
