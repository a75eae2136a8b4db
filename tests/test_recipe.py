"""Recipes: prep.yaml read through the settings loader, strict result.json."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from asr import recipe
from asr.errors import ConfigError
from asr.recipe import PrepSettings

ROOT = Path(__file__).resolve().parent.parent


def make_recipe(root: Path, prep: str | bytes | None, name: str = "bad") -> Path:
    folder = root / "recipes" / name
    folder.mkdir(parents=True)
    (folder / "train.yaml").write_text("train:\n  epochs: 1\n")
    if isinstance(prep, bytes):
        (folder / "prep.yaml").write_bytes(prep)
    elif prep is not None:
        (folder / "prep.yaml").write_text(prep)
    return folder


@pytest.mark.parametrize("recipe_name", sorted(p.parent.name for p in (ROOT / "recipes").glob("*/prep.yaml")))
def test_every_recipe_prep_file_loads(recipe_name):
    prep = recipe.load_prep(ROOT / "recipes" / recipe_name / "prep.yaml")
    assert isinstance(prep, PrepSettings) and prep.corpus and isinstance(prep.options, dict)


def test_prep_file_values(tmp_path):
    folder = make_recipe(tmp_path, "corpus: digits\noptions:\n  train: 20\n  seed: 3\n")
    assert recipe.load_prep(folder / "prep.yaml") == PrepSettings("digits", {"train": 20, "seed": 3})
    folder = make_recipe(tmp_path, "corpus: yesno\noptions:\n  # nothing yet\n", name="empty-options")
    assert recipe.load_prep(folder / "prep.yaml") == PrepSettings("yesno", {})
    folder = make_recipe(tmp_path, "corpus: yesno\n", name="no-options")
    assert recipe.load_prep(folder / "prep.yaml").options == {}


@pytest.mark.parametrize("prep, words", [
    ("options: {}\n", r"missing setting\(s\) corpus \(known: corpus, options\)"),
    ("", r"missing setting\(s\) corpus"),
    ("corpus: digits\noption: {}\n", r"unknown setting\(s\) option \(known: corpus, options\)"),
    ("- corpus\n- digits\n", "expected a mapping of settings"),
    ("corpus: digits\noptions: [1,\n", "not valid YAML"),
    ("corpus: [digits]\n", "corpus must be str"),
    ("corpus: digits\noptions: 3\n", "options must be a mapping"),
    ("corpus: nosuchcorpus\n", "corpus 'nosuchcorpus' is not one asr imports \\(known: .*digits"),
    (b"\xff\xfe\x00\x01", "not a text file"),
    (None, "no such settings file"),
], ids=["no-corpus", "empty", "unknown-key", "list", "invalid-yaml", "corpus-list", "options-number",
        "unknown-corpus", "binary", "missing-file"])
def test_bad_prep_file_is_a_config_error_naming_it(tmp_path, prep, words):
    make_recipe(tmp_path, prep)
    with pytest.raises(ConfigError, match=words) as e:
        recipe.run("bad", root=tmp_path)
    assert str(tmp_path / "recipes" / "bad" / "prep.yaml") in str(e.value)
    assert not (tmp_path / "data").exists() and not (tmp_path / "exp").exists()  # nothing was started


def test_bad_train_file_is_found_before_prep(tmp_path):
    folder = make_recipe(tmp_path, "corpus: digits\n")
    (folder / "train.yaml").write_text("train:\n  accumulate: 0\n")
    with pytest.raises(ConfigError, match=r"train\.yaml: train\.accumulate must be >= 1, got 0"):
        recipe.run("bad", root=tmp_path)
    assert not (tmp_path / "data").exists()


def _result(**kw):
    base = dict(model_path=Path("exp/x/model.pt"), best_dev_wer=0.25, best_dev_cer=0.125, epochs=3, seconds=12.34)
    return SimpleNamespace(**{**base, **kw})


def _strict(text: str) -> dict:
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_result_json(tmp_path):
    path = tmp_path / "result.json"
    recipe.write_result(path, _result())
    assert _strict(path.read_text()) == {"model": "exp/x/model.pt", "best_dev_wer": 0.25, "best_dev_cer": 0.125,
                                          "epochs": 3, "seconds": 12.3}


@pytest.mark.parametrize("figures", [
    {"best_dev_wer": math.inf, "best_dev_cer": math.inf},
    {"best_dev_wer": math.nan, "best_dev_cer": -math.inf},
    {"best_dev_wer": None, "best_dev_cer": math.inf, "seconds": math.nan},
])
def test_result_json_is_strict_json_with_null_for_missing_figures(tmp_path, figures):
    path = tmp_path / "result.json"
    recipe.write_result(path, _result(**figures))
    text = path.read_text()
    assert "Infinity" not in text and "NaN" not in text
    data = _strict(text)
    for key in figures:
        assert data[key] is None
    assert data["epochs"] == 3


def test_unknown_recipe_is_a_usage_error_listing_the_known_ones(tmp_path):
    from asr.errors import UsageError

    make_recipe(tmp_path, "corpus: digits\n", name="mine")
    with pytest.raises(UsageError, match=r"unknown recipe 'nosuch' \(known: .*mine"):
        recipe.find("nosuch", tmp_path)
