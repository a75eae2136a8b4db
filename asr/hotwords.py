"""Hotwords: words and phrases whose score the beam search raises, and the LM that does it.

    parse_hotwords(["kubernetes:6", "new york"])   # {"kubernetes": 6.0, "new york": 5.0}
    read_hotwords("hotwords.txt")                   # the same, one WORD[:BOOST] per line

A boost is in the decoder's own score units (nats of acoustic log-probability,
independent of lm_weight): a hotword is chosen over a competitor that the
acoustics and the LM prefer by less than its boost. The beam decoder adds every
word of every hotword to its lexicon (spelt in the model's tokens when it is
not there yet) and decodes with `boosted_arpa`'s copy of the LM, where the
boost is part of the n-gram probabilities: a word's boost is on every n-gram
ending in it, a phrase's on every n-gram ending in the whole phrase, so "york"
gains only after "new" when "new york" is the hotword. The search then runs at
0.83-0.91 x its speed without hotwords with 100 of them (the lexicon grows;
bench/decode_speed.py), where a Python LM adding the boost per query, tried
first, ran at 0.35-0.5 x. The lexicon's look-ahead, smeared from the same LM,
carries a word's boost into its first tokens, so a boosted word survives
pruning while it is being spelt. The price is paid once, when the decoder is
built: about 3 us per n-gram to write the copy (1.1 M n-grams: 3.5 s, which
KenLM then loads in 0.8 s), and a KenLM binary cannot be edited, so hotwords
need the LM as ARPA text. `arpa_vocabulary` (an ARPA file's words) lives here
with the rest of the ARPA reading.
"""

from __future__ import annotations

import gzip
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from asr.errors import ConfigError

DEFAULT_BOOST = 5.0


def parse_hotword(text: str, where: str = "hotword") -> tuple[str, float]:
    """"WORD[:BOOST]" (or "SOME PHRASE[:BOOST]") -> (the words joined by single spaces, boost).

    Without ":BOOST" the boost is DEFAULT_BOOST. `where` names the source in errors
    ("hotwords.txt:3"). A boost may be negative (a word to avoid) but must be finite.
    """
    phrase, colon, boost_text = text.rpartition(":")
    if not colon:
        phrase, boost = text, DEFAULT_BOOST
    else:
        try:
            boost = float(boost_text)
        except ValueError:
            raise ConfigError(f"{where}: {text!r}: the boost after ':' must be a number "
                              "(write WORD or WORD:BOOST, e.g. kubernetes:6)") from None
        if not math.isfinite(boost):
            raise ConfigError(f"{where}: {text!r}: the boost must be a finite number")
    phrase = " ".join(phrase.split())
    if not phrase:
        raise ConfigError(f"{where}: {text!r} has no word (write WORD or WORD:BOOST)")
    return phrase, boost


def parse_hotwords(items: Iterable[str], where: str = "hotword") -> dict[str, float]:
    """Several "WORD[:BOOST]" strings (e.g. repeated --hotword options) -> {phrase: boost}.
    A phrase given twice is an error (which boost was meant?)."""
    out: dict[str, float] = {}
    for item in items:
        phrase, boost = parse_hotword(item, where)
        if phrase in out:
            raise ConfigError(f"{where}: {phrase!r} is given twice (give each hotword once)")
        out[phrase] = boost
    return out


def read_hotwords(path: str | Path) -> dict[str, float]:
    """{phrase: boost} from a file of one "WORD[:BOOST]" per line; blank lines and lines
    starting with # are skipped. Errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: hotwords file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: a hotwords file must be UTF-8 text") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the hotwords file ({e.strerror or e})") from None
    out: dict[str, float] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        phrase, boost = parse_hotword(line, f"{path}:{number}")
        if phrase in out:
            raise ConfigError(f"{path}:{number}: {phrase!r} was already given on line {first_line[phrase]} "
                              "(give each hotword once)")
        out[phrase], first_line[phrase] = boost, number
    return out


MAX_ORDER = 6  # KenLM's default build: n-grams up to 6 words


def boosted_arpa(src: Path | None, dst: Path, hotwords: dict[str, float], scale: float) -> float:
    """Write to `dst` the ARPA LM `src` with its hotwords boosted; return the shift (below).

    Every n-gram ending in a hotword (for a phrase: ending in all its words, or in its last
    words when the LM's order is shorter) has its log10 probability raised by boost x
    `scale` (1 / lm_weight turns the boost's nats into LM units). Hotword n-grams the LM
    lacks are added with the probability the LM gave them by backing off, plus the boost,
    so that no other query changes. KenLM refuses positive log probabilities, so every
    probability is then lowered by one shift (>= 0): every word then costs shift x
    lm_weight more, which the caller gives back through word_score and unk_score (and the
    end of sentence, the same for every hypothesis, through the score). With `src` None the
    LM is flat (every word log10 p = 0) but for the hotwords. `src` may be gzipped.
    """
    # KenLM reads no model of order 1: the flat LM is a bigram model at least.
    order = _arpa_order(src) if src is not None else max(2, *(len(p.split()) for p in hotwords))
    if order > MAX_ORDER:
        raise ConfigError(f"a hotword has more than {MAX_ORDER} words (KenLM's longest n-gram)")
    keys: dict[tuple[str, ...], float] = defaultdict(float)
    for phrase, boost in hotwords.items():
        keys[tuple(phrase.split())[-order:]] += boost * scale
    by_last: dict[str, list[tuple[tuple[str, ...], float]]] = defaultdict(list)
    for key, boost in keys.items():
        by_last[key[-1]].append((key, boost))

    def boost_of(gram: tuple[str, ...]) -> float:
        return sum(b for key, b in by_last.get(gram[-1], ()) if gram[len(gram) - len(key):] == key)

    wanted = {k[i:j] for k in keys for i in range(len(k)) for j in range(i + 1, len(k) + 1)}
    # The entries hotword n-grams back off through, and the largest boosted probability.
    known: dict[tuple[str, ...], tuple[float, float]] = {("<unk>",): (0.0 if src is None else -100.0, 0.0)}
    highest = -math.inf
    if src is None:
        known |= {("<s>",): (-99.0, 0.0), ("</s>",): (0.0, 0.0)}
    else:
        last_words = {w for k in keys for w in k} | {"<unk>"}
        for gram, logp, bow in _entries(src, last_words):
            if gram in wanted or gram == ("<unk>",):
                known[gram] = (logp, bow)
            if b := boost_of(gram):
                highest = max(highest, logp + b)

    def backed_off(gram: tuple[str, ...]) -> float:
        if gram in known:
            return known[gram][0]
        if len(gram) == 1:
            return known[("<unk>",)][0]
        return known.get(gram[:-1], (0.0, 0.0))[1] + backed_off(gram[1:])

    added: dict[int, list[tuple[tuple[str, ...], float]]] = defaultdict(list)
    for gram in sorted(wanted - known.keys(), key=len):
        logp = backed_off(gram) + boost_of(gram)
        added[len(gram)].append((gram, logp))
        highest = max(highest, logp)
    shift = max(0.0, highest)
    if src is None:
        _write_flat(dst, order, known, added, boost_of, shift)
    else:
        _write_boosted(src, dst, order, added, boost_of, set(by_last), shift)
    return shift


def arpa_vocabulary(path: Path) -> set[str] | None:
    """The words of an ARPA file's unigram section (gzipped or not); None for a KenLM binary.
    A file that is neither is a ConfigError."""
    with open(path, "rb") as f:
        if f.read(8) == b"mmap lm ":
            return None
    words: set[str] = set()
    with _open(path) as f:
        line = ""
        for line in f:
            if line.strip():
                break
        if line.strip() != "\\data\\":
            raise ConfigError(f"{path}: not an ARPA file (its first line is not \\data\\) nor a KenLM binary")
        for line in f:
            if line.strip() == "\\1-grams:":
                break
        for line in f:
            if line.startswith("\\"):
                break
            fields = line.split()
            if len(fields) >= 2:
                words.add(fields[1])
    return words


def _open(path: Path):
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    opener: Callable = gzip.open if gzipped else open
    return opener(path, "rt", encoding="utf-8", errors="replace")


def _arpa_order(path: Path) -> int:
    """The highest n of an ARPA file's "ngram n=count" header lines."""
    order = 0
    with _open(path) as f:
        for line in f:
            if line.startswith("ngram "):
                order = max(order, int(line[6:].split("=")[0]))
            elif line.strip().endswith("-grams:"):
                break
    if order == 0:
        raise ConfigError(f"{path}: no 'ngram n=count' lines (an ARPA file starts with \\data\\ and them)")
    return order


def _fields(line: str, n: int) -> tuple[str, str, str]:
    """(log10 prob, n-gram, backoff or "") of an n-gram line, as text; tab-separated lines
    (KenLM's and SRILM's) without splitting the n-gram."""
    parts = line.rstrip("\n").split("\t")
    if len(parts) in (2, 3):
        return parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    fields = line.split()
    return fields[0], " ".join(fields[1:n + 1]), fields[n + 1] if len(fields) > n + 1 else ""


def _entries(path: Path, last_words: set[str]):
    """(n-gram, log10 prob, backoff) of every entry of an ARPA file that ends in one of
    `last_words` (the others are skipped without parsing: the file may be large)."""
    n = 0
    with _open(path) as f:
        for line in f:
            if line.startswith("\\"):
                n = int(line[1:].split("-")[0]) if line.strip().endswith("-grams:") else 0
                continue
            if n and line.strip():
                prob, gram, bow = _fields(line, n)
                if gram.rpartition(" ")[2] in last_words:
                    yield tuple(gram.split()), float(prob), float(bow or 0.0)


def _entry(gram: tuple[str, ...], logp: float, bow: float | None) -> str:
    return f"{logp:.6f}\t{' '.join(gram)}" + (f"\t{bow:.6f}" if bow is not None else "") + "\n"


def _write_flat(dst: Path, order: int, known: dict, added: dict, boost_of, shift: float) -> None:
    sections: dict[int, list[str]] = defaultdict(list)
    for gram, (logp, bow) in known.items():
        sections[1].append(_entry(gram, logp - shift, 0.0 if order > 1 else None))
    for n, grams in added.items():
        for gram, logp in grams:
            sections[n].append(_entry(gram, logp - shift, 0.0 if n < order else None))
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\\data\\\n" + "".join(f"ngram {n}={len(sections[n])}\n" for n in range(1, order + 1)))
        for n in range(1, order + 1):
            f.write(f"\n\\{n}-grams:\n" + "".join(sections[n]))
        f.write("\n\\end\\\n")


def _write_boosted(src: Path, dst: Path, order: int, added: dict, boost_of, last_words: set[str],
                   shift: float) -> None:
    """Stream `src` to `dst`: counts raised by the added n-grams, probabilities boosted and
    shifted, the added n-grams at the end of their section."""
    n = 0
    with _open(src) as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            if n and line.strip() and not line.startswith("\\"):
                prob, gram, bow = _fields(line, n)
                boost = boost_of(tuple(gram.split())) if gram.rpartition(" ")[2] in last_words else 0.0
                if boost or shift:
                    line = f"{float(prob) + boost - shift:.6f}\t{gram}" + (f"\t{bow}\n" if bow else "\n")
                out.write(line)
                continue
            if n:  # the end of section n: its added n-grams go here
                out.writelines(_entry(g, p - shift, 0.0 if n < order else None) for g, p in added.get(n, ()))
                n = 0
            if line.startswith("ngram "):
                k, count = line[6:].split("=")
                line = f"ngram {k.strip()}={int(count) + len(added.get(int(k), ()))}\n"
            elif line.startswith("\\") and line.strip().endswith("-grams:"):
                n = int(line[1:].split("-")[0])
            out.write(line)
