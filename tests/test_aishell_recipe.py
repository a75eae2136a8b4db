"""The AISHELL-1 recipe: the importer on a tree laid out as the corpus ships (segmented
transcripts, tabs or spaces after the id, a byte-order mark, CRLF, .WAV), the recipe found by
`asr run aishell`, its settings sized for one GPU, and the recipe run end to end on that tree
with a tiny model: character tokens, CER the headline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from asr import config, corpora, manifest, recipe
from asr.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPT = Path("transcript") / "aishell_transcript_v0.8.txt"
BOM = b"\xef\xbb\xbf"

# (split, speaker, id, transcript line after the id as shipped, its separator, the text expected)
LINES = [
    ("train", "S0002", "BAC009S0002W0122", "而 对 楼市 成交 抑制 作用 最 大 的 限 购", " ", "而对楼市成交抑制作用最大的限购"),
    ("train", "S0002", "BAC009S0002W0123", "也 成为 地方 政府 的 眼中 钉", "\t", "也成为地方政府的眼中钉"),
    ("train", "S0003", "BAC009S0003W0121", "自 六月 底 呼和浩特 市 率先 宣布 取消 限 购 后", " \t ", "自六月底呼和浩特市率先宣布取消限购后"),
    ("dev", "S0724", "BAC009S0724W0121", "甚至 出现 交易 几乎 停滞 的 情况", "\t", "甚至出现交易几乎停滞的情况"),
    ("test", "S0764", "BAC009S0764W0121", "好 棒 好 棒棒  ", " ", "好棒好棒棒"),
]


def noise(path: Path, seconds: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wave = 0.05 * np.random.default_rng(len(path.name)).standard_normal(int(seconds * 16000))
    sf.write(str(path), wave.astype(np.float32), 16000, format="WAV", subtype="PCM_16")
    return path


def aishell_tree(root: Path, bom: bool = True, crlf: bool = True, upper: bool = True) -> Path:
    """data_aishell as unpacked (wav/<split>/<speaker>/<id>.wav), one utterance without a
    transcript line, one transcript line without audio."""
    data = root / "data_aishell"
    for i, (split, speaker, uid, *_) in enumerate(LINES):
        suffix = ".WAV" if upper and i % 2 else ".wav"
        noise(data / "wav" / split / speaker / f"{uid}{suffix}", 0.5 + 0.25 * i)
    noise(data / "wav" / "train" / "S0003" / "BAC009S0003W0999.wav", 0.5)  # no transcript line
    end = "\r\n" if crlf else "\n"
    text = "".join(f"{uid}{sep}{words}{end}" for _, _, uid, words, sep, _ in LINES)
    text += f"BAC009S0764W0999 没有 录音{end}"  # no recording
    (data / TRANSCRIPT).parent.mkdir(parents=True, exist_ok=True)
    (data / TRANSCRIPT).write_bytes((BOM if bom else b"") + text.encode("utf-8"))
    return data


def rows(paths: dict[str, Path]) -> dict[str, dict[str, tuple[str, str]]]:
    return {split: {u.id: (u.text, u.speaker) for u in manifest.read(path)} for split, path in paths.items()}


EXPECTED = {split: {uid: (text, speaker) for s, speaker, uid, _, _, text in LINES if s == split}
            for split in ("train", "dev", "test")}


@pytest.mark.parametrize("variant", [dict(), dict(bom=False, crlf=False, upper=False)], ids=["as-shipped", "plain"])
@pytest.mark.parametrize("level", ["data_aishell", "parent"])
def test_importer_on_a_shipped_tree(tmp_path, variant, level):
    data = aishell_tree(tmp_path / "src", **variant)
    lines: list[str] = []
    paths = corpora.prepare("aishell", tmp_path / "out", data if level == "data_aishell" else data.parent,
                            log=lines.append)
    assert rows(paths) == EXPECTED
    texts = [u.text for path in paths.values() for u in manifest.read(path)]
    assert all(" " not in t and "\ufeff" not in t and "\r" not in t for t in texts)
    assert any("BAC009S0003W0999" in line and "no transcript" in line for line in lines)
    assert "kept 5 utterances, skipped 1" in lines


def test_a_packed_tree_says_to_unpack(tmp_path):
    data = tmp_path / "data_aishell"
    (data / TRANSCRIPT).parent.mkdir(parents=True)
    (data / TRANSCRIPT).write_text("BAC009S0002W0122 好\n", encoding="utf-8")
    (data / "wav").mkdir()
    (data / "wav" / "S0002.tar.gz").write_bytes(b"")
    with pytest.raises(Exception, match="unpack wav/\\*.tar.gz there first"):
        corpora.prepare("aishell", tmp_path / "out", data)


def test_asr_run_aishell_finds_the_recipe_and_needs_src(tmp_path, monkeypatch):
    folder = recipe.find("aishell", tmp_path)  # from any folder: the copy beside asr (or installed)
    assert folder.name == "aishell" and recipe.load_prep(folder / "prep.yaml").corpus == "aishell"
    assert "aishell" in recipe.available(tmp_path)
    with pytest.raises(UsageError, match="aishell needs --src: the data_aishell folder"):
        recipe.run("aishell", root=tmp_path)
    from asr_cli.main import app
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", "aishell"])
    assert result.exit_code == 2 and "aishell needs --src" in result.output
    assert not (tmp_path / "exp").exists()


def test_the_recipe_is_sized_for_one_gpu():
    settings = config.load(ROOT / "recipes" / "aishell" / "train.yaml")
    assert settings.text.units == "characters"
    assert settings.model.cell == "lstm" and settings.model.layers >= 5 and settings.model.hidden >= 320
    assert settings.model.bidirectional and settings.model.subsample == 3
    assert settings.train.specaugment and set(settings.augment.speeds) == {0.9, 1.0, 1.1}
    assert 30 <= settings.train.epochs <= 50 and settings.train.precision in ("auto", "bf16")
    assert settings.train.device == "auto" and settings.train.workers > 0 and not settings.train.cache_features
    readme = (ROOT / "recipes" / "aishell" / "README.md").read_text(encoding="utf-8")
    assert "asr run aishell --src" in readme and "not run" in readme.lower()


def test_asr_run_aishell_end_to_end_on_a_tiny_tree(tmp_path):
    """The recipe's stages on the shipped-style tree with a tiny model on the CPU: the point is the
    plumbing (prep from --src, training, evaluation with CER as the headline), not the figure."""
    data = aishell_tree(tmp_path / "src")
    tiny = ["model.hidden=16", "model.layers=1", "model.conv_channels=16", "train.epochs=1", "train.workers=0",
            "train.device=cpu", "train.precision=fp32", "train.max_batch=4", "train.warmup_steps=1",
            "train.average=0", "train.checkpoint_every=0", "augment.speeds=[1.0]"]
    result = recipe.run("aishell", root=tmp_path, src=data, overrides=tiny)
    assert result.report.metric == "cer"
    assert json.loads((tmp_path / "exp" / "aishell" / "result.json").read_text())["best_dev_cer"] is not None
    refs = [json.loads(line)["ref"] for line in result.report.results_path.read_text(encoding="utf-8").splitlines()]
    assert refs == ["好棒好棒棒"]
