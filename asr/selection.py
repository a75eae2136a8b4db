"""Which weights become model.pt: the best epoch by a dev error rate, or the average of the
last epochs' weights when dev agrees.

The selection rate is WER, or CER when no dev transcript has a space (there WER would be a
sentence error rate). Dev records are dicts with `dev_wer`, `dev_cer` and `dev_loss`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from asr import checkpoint

PLATEAU = 0.95  # a dev error rate above this: still on CTC's all-blank plateau, nothing learnt yet


def selection_key(metrics: dict, selection: str) -> list[float]:
    """What picks the best epoch: the selection error rate on dev; ties (common on small dev
    sets) go to the lower other rate, then the lower dev loss. Smaller is better."""
    other = "cer" if selection == "wer" else "wer"
    return [metrics[f"dev_{selection}"], metrics[f"dev_{other}"], metrics["dev_loss"]]


def epochs_to_average(metrics: dict[int, dict], average: int, selection: str) -> list[int]:
    """The epochs whose weights to average: of those with a checkpoint (their epoch records by
    number), the last `average` after the last one still on the all-blank plateau; [] if under 2."""
    epochs = sorted(metrics)
    plateau = [e for e in epochs if metrics[e][f"dev_{selection}"] > PLATEAU]
    chosen = [e for e in epochs if not plateau or e > plateau[-1]][-average:]
    return chosen if len(chosen) >= 2 else []


def keep_average(average: dict, best: list[float], selection: str) -> bool:
    """Whether the averaged weights (their dev record) replace the best epoch (its selection key):
    when they are not worse on dev by the selection rate, or by the dev CTC loss. The loss scores
    every frame of every dev utterance, while the rate of a small dev set moves by a word or two:
    on AN4 (78 dev utterances) the average of the last 8 of 56 epochs had a dev WER of 27.2 %
    against the best epoch's 26.0 %, but a lower dev loss (0.534 against 0.562) and a lower test
    WER (11.25 % against 12.03 %). An average of epochs still far apart is worse by both."""
    key = selection_key(average, selection)
    return key <= best or key[2] <= best[2]


def choose_average(folder: Path, average: int, selection: str, best: list[float], best_epoch: int,
                   validate: Callable[[dict], dict], log: Callable[[str], None]) -> tuple[list[int], dict] | None:
    """Whether the mean of the last `average` epoch checkpoints in `folder` should replace the
    best epoch (`best_epoch`, its selection key `best`) as model.pt: (the averaged epochs, the
    average's dev record), or None to keep the best epoch. `validate(weights)` scores weights
    on dev; `log` is told which was kept and why.

    With a schedule that ends at a low rate the last epochs are the converged ones, and on a
    small dev set the best single epoch is as much luck as skill (on AN4, the average of the
    last 8 of 52 epochs scored 11.6 % test WER, the best single dev epoch 13.1 %). But an
    average over epochs that were still far apart (leaving the all-blank plateau, or a short
    run) can be far worse than any of them: that is kept out, and dev decides (`keep_average`).
    """
    paths = {int(p.stem.split("-")[1]): p for p in checkpoint.list_checkpoints(folder, "epoch-")}
    epochs = epochs_to_average({e: checkpoint.load(p)["train"]["metrics"] for e, p in paths.items()},
                               average, selection)
    name = selection.upper()
    kept = f"the best epoch ({best_epoch}, dev {name} {100 * best[0]:.1f} %)"
    if not epochs:
        log(f"model.pt: {kept}: fewer than 2 epoch checkpoints after the all-blank plateau to average")
        return None
    span = f"epochs {epochs[0]}-{epochs[-1]}"
    record = validate(checkpoint.average_weights([paths[e] for e in epochs]))
    score = f"dev {name} {100 * record[f'dev_{selection}']:.1f} %, loss {record['dev_loss']:.4f}"
    if not keep_average(record, best, selection):
        log(f"model.pt: {kept[:-1]}, loss {best[2]:.4f}): the average of {span} scored worse on both ({score})")
        return None
    log(f"model.pt: the average of {span} ({score}): the best single epoch ({best_epoch}) scored "
        f"{100 * best[0]:.1f} %, loss {best[2]:.4f}")
    return epochs, record
