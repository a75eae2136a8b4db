"""Settings: YAML files, key=value overrides, unknown keys, type checks."""

import pytest

from asr import config
from asr.config import Settings, TrainSettings
from asr.errors import ConfigError
from asr.features import FeatureSettings
from asr.model import ModelSettings


def write(tmp_path, text: str):
    path = tmp_path / "train.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file():
    assert config.load() == Settings()


def test_yaml_and_overrides(tmp_path):
    path = write(tmp_path, "model:\n  cell: gru\n  hidden: 64\ntrain:\n  epochs: 3\n  lr: 0.005\n")
    s = config.load(path, ["train.epochs=5", "model.layers=2", "features.f_max=7600", "text.lowercase=false"])
    assert s.model == ModelSettings(cell="gru", hidden=64, layers=2)
    assert s.train == TrainSettings(epochs=5, lr=0.005)  # override wins over the file
    assert s.features == FeatureSettings(f_max=7600.0)
    assert s.text.lowercase is False
    assert s.specaugment == Settings().specaugment


def test_empty_file_gives_defaults(tmp_path):
    assert config.load(write(tmp_path, "")) == Settings()


def test_ints_accepted_for_floats(tmp_path):
    s = config.load(write(tmp_path, "train:\n  lr: 1\n"), ["specaugment.time_ratio=0"])
    assert s.train.lr == 1.0 and isinstance(s.train.lr, float)
    assert s.specaugment.time_ratio == 0.0 and isinstance(s.specaugment.time_ratio, float)


def test_optional_float_accepts_null():
    assert config.load(None, ["features.f_max=null"]).features.f_max is None
    assert config.load(None, ["features.f_max="]).features.f_max is None


def test_unknown_key_in_file_lists_known_keys(tmp_path):
    with pytest.raises(ConfigError) as e:
        config.load(write(tmp_path, "train:\n  epoch: 3\n"))
    message = str(e.value)
    assert "unknown setting(s) epoch" in message
    assert "known:" in message and "epochs" in message and "max_frames" in message
    assert str(tmp_path / "train.yaml") in message


def test_unknown_top_level_key_lists_groups(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) modle \(known: augment, features, model, specaugment, text, train\)"):
        config.load(write(tmp_path, "modle:\n  hidden: 3\n"))


def test_unknown_key_in_override_lists_known_keys():
    with pytest.raises(ConfigError) as e:
        config.load(None, ["model.celll=gru"])
    message = str(e.value)
    assert "unknown setting(s) celll" in message
    assert "cell" in message and "subsample" in message


@pytest.mark.parametrize(
    "override, words",
    [
        ("train.epochs=2.5", "epochs must be int, got 2.5"),
        ("train.epochs=true", "epochs must be int"),
        ("train.lr=fast", "lr must be float"),
        ("train.lr=true", "lr must be float"),
        ("model.cell=3", "cell must be str"),
        ("text.nfkc=1", "nfkc must be bool"),
        ("train=5", "expected a mapping"),
    ],
)
def test_type_errors(override, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        config.load(None, [override])


def test_type_error_in_file(tmp_path):
    with pytest.raises(ConfigError, match="hidden must be int"):
        config.load(write(tmp_path, "model:\n  hidden: big\n"))


@pytest.mark.parametrize("override", ["train.epochs", "=5", " =5", "train.epochs 5"])
def test_bad_override_syntax(override):
    with pytest.raises(ConfigError, match="key=value"):
        config.load(None, [override])


def test_override_through_a_value_is_an_error():
    with pytest.raises(ConfigError, match="not a group"):
        config.load(None, ["train.epochs=3", "train.epochs.x=1"])


@pytest.mark.parametrize("text, words", [("- a\n- b\n", "mapping"), ("a: [1,\n", "not valid YAML")])
def test_bad_file(tmp_path, text, words):
    with pytest.raises(ConfigError, match=words):
        config.load(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such settings file"):
        config.load(tmp_path / "nope.yaml")


def test_to_dict_from_dict_round_trip():
    s = config.load(None, ["model.cell=rnn", "train.lr=0.25"])
    assert config.from_dict(Settings, config.to_dict(s)) == s


@pytest.mark.parametrize("where", ["override", "file"])
def test_exponent_floats(tmp_path, where):
    if where == "override":
        s = config.load(None, ["train.lr=1e-3"])
    else:
        s = config.load(write(tmp_path, "train:\n  lr: 3e-4\n"))
    assert s.train.lr in (1e-3, 3e-4)
