"""Settings: YAML files, key=value overrides, unknown keys, type checks, range checks."""

import dataclasses
from pathlib import Path

import pytest

from asr import config
from asr.config import Settings, TrainSettings
from asr.errors import ConfigError
from asr.features import FeatureSettings
from asr.model import ModelSettings

ROOT = Path(__file__).resolve().parent.parent


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


# ---- ranges: every settings class is checked when it is loaded -----------------------------------

BAD_VALUES = [
    # train
    ("train.epochs=0", "train.epochs must be >= 1, got 0"),
    ("train.epochs=-1", "train.epochs must be >= 1, got -1"),
    ("train.max_frames=0", "train.max_frames must be >= 1"),
    ("train.max_batch=0", "train.max_batch must be >= 1"),
    ("train.bucket_size=-1", "train.bucket_size must be >= 0"),
    ("train.sortagrad=-1", "train.sortagrad must be >= 0"),
    ("train.accumulate=0", "train.accumulate must be >= 1, got 0"),
    ("train.lr=-1", "train.lr must be a number > 0"),
    ("train.lr=0", "train.lr must be a number > 0"),
    ("train.lr=nan", "lr must be a finite number"),
    ("train.lr=.inf", "lr must be a finite number"),
    ("train.lr=1e999", "lr must be a finite number"),
    ("train.weight_decay=-0.1", "train.weight_decay must be >= 0"),
    ("train.schedule=linear", "train.schedule must be one of cosine, noam, plateau"),
    ("train.warmup_steps=-1", "train.warmup_steps must be >= 0"),
    ("train.final_lr_ratio=-0.1", "train.final_lr_ratio must be between 0 and 1"),
    ("train.final_lr_ratio=1.5", "train.final_lr_ratio must be between 0 and 1"),
    ("train.plateau_patience=0", "train.plateau_patience must be >= 1"),
    ("train.clip_norm=0", "train.clip_norm must be a number > 0"),
    ("train.seed=-1", "train.seed must be between 0 and"),
    ("train.seed=100000000000", "train.seed must be between 0 and"),
    ("train.max_duration=0", "train.max_duration must be a number > 0"),
    ("train.max_duration=-inf", "max_duration must be a finite number"),
    ("train.log_every=0", "train.log_every must be >= 1, got 0"),
    ("train.device=gpu", "train.device must be auto, cpu, cuda or cuda:N"),
    ("train.device=cuda:x", "train.device must be"),
    ("train.device=cuda:[0", "train.device must be"),
    ("train.precision=fp64", "train.precision must be one of auto, fp32, bf16, fp16"),
    ("train.workers=-1", "train.workers must be >= 0"),
    ("train.stats_utterances=0", "train.stats_utterances must be >= 1"),
    ("train.checkpoint_every=-1", "train.checkpoint_every must be >= 0"),
    ("train.keep=0", "train.keep must be >= 1"),
    ("train.max_bad_steps=0", "train.max_bad_steps must be >= 1"),
    ("train.early_stop=-1", "train.early_stop must be >= 0"),
    ("train.average=-1", "train.average must be >= 0"),
    ("train.epochs=abc", "train: epochs must be int"),
    ("train.specaugment=3", "train: specaugment must be bool"),
    ("train.compile=yes please", "train: compile must be bool"),
    ("train.cache_features=2", "train: cache_features must be bool"),
    ("train.tensorboard=yes please", "train: tensorboard must be bool"),
    # features
    ("features.sample_rate=0", "features.sample_rate must be >= 1"),
    ("features.n_mels=0", "features.n_mels must be >= 1"),
    ("features.n_mels=300", "features.n_mels (300) must be <= 257"),
    ("features.win_ms=0", "features.win_ms and features.hop_ms must be > 0"),
    ("features.hop_ms=-10", "features.win_ms and features.hop_ms must be > 0"),
    ("features.hop_ms=30", "features.hop_ms (30.0) must be <= features.win_ms"),
    ("features.sample_rate=20", "is too short at 20 Hz"),
    ("features.f_min=-1", "features.f_min must be >= 0"),
    ("features.f_min=9000", "features.f_min must be >= 0 and below features.f_max (8000 Hz)"),
    ("features.f_max=9000", "features.f_max must be > 0 and <= half of features.sample_rate (8000 Hz)"),
    ("features.f_max=0", "features.f_max must be > 0"),
    ("features.normalize=speaker", "features.normalize must be one of global, utterance"),
    # specaugment
    ("specaugment.freq_masks=-1", "specaugment.freq_masks must be >= 0"),
    ("specaugment.freq_width=-1", "specaugment.freq_width must be >= 0"),
    ("specaugment.time_masks=-1", "specaugment.time_masks must be >= 0"),
    ("specaugment.time_width=-1", "specaugment.time_width must be >= 0"),
    ("specaugment.time_ratio=1.5", "specaugment.time_ratio must be between 0 and 1"),
    ("specaugment.time_ratio=-0.1", "specaugment.time_ratio must be between 0 and 1"),
    # model
    ("model.cell=transformer", "model.cell must be one of lstm, gru, rnn"),
    ("model.frontend=pool", "model.frontend must be"),
    ("model.subsample=0", "model.subsample must be 1-4"),
    ("model.hidden=0", "model.hidden must be >= 1"),
    ("model.layers=0", "model.layers must be >= 1"),
    ("model.conv_channels=0", "model.conv_channels must be >= 1"),
    ("model.dropout=1", "model.dropout must be >= 0 and < 1"),
    ("model.dropout=1.5", "model.dropout must be >= 0 and < 1"),
    ("model.dropout=-0.1", "model.dropout must be >= 0 and < 1"),
    ("model.bidirectional=2", "model: bidirectional must be bool"),
    # text
    ("text.units=words", "text.units must be one of characters, bpe"),
    ("text.bpe_size=1", "text.bpe_size must be between 2 and"),
    ("text.bpe_size=0", "text.bpe_size must be between 2 and"),
    ("text.lowercase=maybe", "text: lowercase must be bool"),
    # augment
    ("augment.speeds=[0.9, 0, 1.1]", "augment.speeds must all be > 0"),
    ("augment.speeds=[-1]", "augment.speeds must all be > 0"),
    ("augment.speeds=[]", "speeds must be a non-empty list"),
    ("augment.speeds=[1e-9]", "augment.speeds: 1e-09 is too slow"),
    ("augment.noise_prob=1.5", "augment.noise_prob must be between 0 and 1"),
    ("augment.noise_prob=-0.5", "augment.noise_prob must be between 0 and 1"),
    ("augment.snr_low=40", "augment.snr_low (40.0) must be <= augment.snr_high (30.0)"),
    ("augment.snr_high=1", "augment.snr_low (5.0) must be <= augment.snr_high (1.0)"),
    ("augment.noise=3", "augment: noise must be str"),
]


@pytest.mark.parametrize("override, words", BAD_VALUES, ids=[o for o, _ in BAD_VALUES])
def test_out_of_range_settings_are_config_errors_naming_the_key(override, words):
    try:
        config.load(None, [override])
    except ConfigError as e:
        assert words in str(e), str(e)
        assert "\n" not in str(e)
    else:
        pytest.fail(f"{override} was accepted")


def test_the_table_covers_every_setting():
    """Every field of every group has a bad value in BAD_VALUES (a new setting needs a row)."""
    covered = {o.partition("=")[0] for o, _ in BAD_VALUES}
    groups = {f.name: f.type for f in dataclasses.fields(Settings)}
    for group in groups:
        cls = type(getattr(Settings(), group))
        for f in dataclasses.fields(cls):
            assert f"{group}.{f.name}" in covered or f"{group}.{f.name}" in NO_RANGE, f"{group}.{f.name}"


# booleans (their type is all there is to check) and the noise manifest (read when training starts)
NO_RANGE = {"text.remove_punctuation", "text.nfkc", "augment.noise"}


def test_range_error_names_the_file(tmp_path):
    path = write(tmp_path, "train:\n  accumulate: 0\n")
    with pytest.raises(ConfigError, match=r"train\.yaml: train\.accumulate must be >= 1, got 0"):
        config.load(path)


@pytest.mark.parametrize("override", [
    "train.device=cuda", "train.device=cuda:1", "train.device=cpu", "train.final_lr_ratio=0", "train.final_lr_ratio=1",
    "train.bucket_size=0", "train.sortagrad=0", "train.warmup_steps=0", "train.checkpoint_every=0",
    "train.early_stop=0", "train.average=0", "train.workers=0", "train.weight_decay=0", "features.hop_ms=25",
    "features.f_min=0", "features.f_max=8000", "features.n_mels=257", "specaugment.time_ratio=1",
    "specaugment.freq_masks=0", "model.dropout=0", "augment.snr_low=30", "augment.noise_prob=0",
    "augment.noise_prob=1", "text.units=bpe", "text.bpe_size=2", "train.seed=9999999",
])
def test_edge_values_are_accepted(override):
    config.load(None, [override])


def test_fp16_on_the_cpu_is_refused_when_it_is_named():
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        config.load(None, ["train.precision=fp16", "train.device=cpu"])
    assert config.load(None, ["train.precision=fp16"]).train.precision == "fp16"  # device auto: decided later


@pytest.mark.parametrize("cls, data, words", [
    (FeatureSettings, {"n_mels": 0}, "checkpoint features: features.n_mels must be >= 1"),
    (ModelSettings, {"hidden": 0}, "checkpoint features: model.hidden must be >= 1"),
    (TrainSettings, {"accumulate": 0}, "checkpoint features: train.accumulate must be >= 1"),
])
def test_from_dict_checks_every_class_it_builds(cls, data, words):
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        config.from_dict(cls, data, "checkpoint features")


@pytest.mark.parametrize("recipe", sorted(p.parent.name for p in (ROOT / "recipes").glob("*/train.yaml")))
def test_every_recipe_is_valid(recipe):
    config.load(ROOT / "recipes" / recipe / "train.yaml")


def test_a_file_that_is_not_text(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ConfigError, match="train.yaml: not a text file"):
        config.load(path)


@pytest.mark.parametrize("text", ["5\n", "just words\n", "[1, 2]\n"])
def test_a_file_that_is_not_a_mapping_names_it(tmp_path, text):
    with pytest.raises(ConfigError, match=r"train\.yaml: expected a mapping of settings"):
        config.load(write(tmp_path, text))


def test_missing_required_setting_is_named(tmp_path):
    @dataclasses.dataclass(frozen=True)
    class Needs:
        name: str
        size: int = 1

    with pytest.raises(ConfigError, match=r"here: missing setting\(s\) name \(known: name, size\)"):
        config.from_dict(Needs, {"size": 2}, "here")


def test_a_mapping_setting():
    @dataclasses.dataclass(frozen=True)
    class Holder:
        options: dict = dataclasses.field(default_factory=dict)

    assert config.from_dict(Holder, {"options": {"a": 1}}).options == {"a": 1}
    assert config.from_dict(Holder, {"options": None}).options == {}
    with pytest.raises(ConfigError, match="options must be a mapping"):
        config.from_dict(Holder, {"options": [1, 2]}, "prep.yaml")
