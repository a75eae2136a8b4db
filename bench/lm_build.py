"""N-gram LM estimation speed: asr.lm.build + write_arpa on a generated corpus.

    python bench/lm_build.py --json [--words 1000000] [--order 3] [--prune 0 0 1] [--lmplz PATH]

The corpus is made on the fly, the same for a given --seed: a Zipfian
vocabulary of --vocab words (p(rank r) ~ 1 / r^1.1) and a simple Markov
chain (60 % of the time the next word is one of 50 successors of the
previous word, drawn once from the same Zipf distribution and picked with
Zipf weights; otherwise a fresh Zipf draw), sentences of 3..25 words. The
goal: order 3 from 1 million words in under 60 s (build plus write) on one core.

With --lmplz (a KenLM lmplz binary), lmplz estimates the same corpus too, and
both ARPA files are scored by asr.lm.perplexity on held-out text (30,000
words drawn from the same chain).

Prints one JSON object on stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asr import lm  # noqa: E402


def corpus(words: int, vocab: int, seed: int, sample: int = 0) -> list[list[str]]:
    """Sentences of generated words, `words` words in all (see the module docstring):
    the language (its successor table) is fixed by `seed`, the text drawn from it by `sample`."""
    names = [f"w{i}" for i in range(vocab)]
    zipf = list(accumulate(1.0 / r ** 1.1 for r in range(1, vocab + 1)))
    favoured = random.Random(seed).choices(range(vocab), cum_weights=zipf, k=vocab * 50)  # 50 successors a word
    rng = random.Random(f"{seed}/{sample}")
    near = list(accumulate(1.0 / r ** 1.1 for r in range(1, 51)))
    fresh = rng.choices(range(vocab), cum_weights=zipf, k=words)
    step = rng.choices(range(50), cum_weights=near, k=words)
    follow = [x < 0.6 for x in (rng.random() for _ in range(words))]
    sentences, i, previous = [], 0, 0
    while i < words:
        n = min(rng.randint(3, 25), words - i)
        sentence = []
        for j in range(i, i + n):
            previous = favoured[previous * 50 + step[j]] if follow[j] and sentence else fresh[j]
            sentence.append(names[previous])
        sentences.append(sentence)
        i += n
    return sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object (always on)")
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--order", type=int, default=3)
    parser.add_argument("--vocab", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prune", type=int, nargs="*", default=[])
    parser.add_argument("--lmplz", type=Path, help="a KenLM lmplz binary to compare with")
    args = parser.parse_args()

    t = time.perf_counter()
    sentences = corpus(args.words, args.vocab, args.seed)
    print(f"generated {len(sentences)} sentences in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory() as work:
        arpa = Path(work) / "lm.arpa"
        t0 = time.perf_counter()
        model = lm.build(sentences, args.order, prune=args.prune, log=lambda s: print(s, file=sys.stderr))
        t1 = time.perf_counter()
        model.write_arpa(arpa)
        t2 = time.perf_counter()
        result = {
            "words": args.words, "order": args.order, "sentences": len(sentences), "vocab": len(model.vocabulary),
            "prune": args.prune, "seconds": round(t2 - t0, 2), "build_seconds": round(t1 - t0, 2),
            "write_seconds": round(t2 - t1, 2), "ngrams": model.counts,
            "arpa_mb": round(arpa.stat().st_size / 1e6, 1),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        if args.lmplz:
            result.update(compare(args, sentences, model, Path(work)))
    print(json.dumps(result))


def compare(args, sentences, model: lm.NgramModel, work: Path) -> dict:
    """lmplz on the same corpus: its time and both models' held-out perplexity."""
    text = work / "corpus.txt"
    text.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
    command = [str(args.lmplz), "-o", str(args.order), "-S", "20%", "-T", str(work), "--text", str(text),
               "--arpa", str(work / "lmplz.arpa")]
    if args.prune:
        command += ["--prune", *map(str, args.prune)]
    t = time.perf_counter()
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - t
    reference = lm.read_arpa(work / "lmplz.arpa")
    held_out = corpus(30_000, args.vocab, args.seed, sample=1)
    ours, theirs = lm.perplexity(model, held_out), lm.perplexity(reference, held_out)
    return {"lmplz_seconds": round(seconds, 2), "lmplz_ngrams": reference.counts,
            "perplexity": round(ours, 3), "lmplz_perplexity": round(theirs, 3),
            "perplexity_difference": f"{100 * (ours / theirs - 1):+.4f} %"}


if __name__ == "__main__":
    main()
