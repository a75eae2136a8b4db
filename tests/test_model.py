"""The acoustic model: subsampling, padding invariance, settings checks, learning."""

import math

import pytest
import torch
import torch.nn.functional as F

from asr.errors import ConfigError
from asr.model import AcousticModel, ModelSettings, output_lengths, reverse_within

N_MELS, VOCAB = 6, 5


def tiny(**kw) -> ModelSettings:
    base = dict(hidden=8, layers=2, dropout=0.0, conv_channels=12)
    return ModelSettings(**{**base, **kw})


@pytest.mark.parametrize("frontend", ["stack", "conv"])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_output_lengths_are_ceil_t_over_k(frontend, k):
    torch.manual_seed(0)
    model = AcousticModel(N_MELS, VOCAB, tiny(frontend=frontend, subsample=k, layers=1)).eval()
    lengths = torch.tensor([1, 2, 3, 4, 5, 7, 8, 9, 13])
    feats = torch.randn(len(lengths), int(lengths.max()), N_MELS)
    log_probs, out = model(feats, lengths)
    expected = [math.ceil(t / k) for t in lengths.tolist()]
    assert out.tolist() == expected
    assert log_probs.shape == (len(lengths), max(expected), VOCAB)
    assert output_lengths(lengths, k).tolist() == expected


@pytest.mark.parametrize("frontend", ["stack", "conv"])
def test_log_probs_sum_to_one(frontend):
    torch.manual_seed(0)
    model = AcousticModel(N_MELS, VOCAB, tiny(frontend=frontend)).eval()
    log_probs, _ = model(torch.randn(3, 10, N_MELS), torch.tensor([10, 6, 1]))
    assert log_probs.dtype == torch.float32
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(3, log_probs.shape[1]), atol=1e-5)
    assert (log_probs <= 0).all()


def test_reverse_within_leaves_padding_in_place():
    x = torch.arange(10.0).reshape(2, 5, 1)
    out = reverse_within(x, torch.tensor([3, 5]))
    assert out[..., 0].tolist() == [[2, 1, 0, 3, 4], [9, 8, 7, 6, 5]]


@pytest.mark.parametrize(
    "cell, frontend, k",
    [("lstm", "stack", 3), ("gru", "stack", 2), ("rnn", "stack", 1), ("lstm", "conv", 3), ("gru", "conv", 4)],
)
def test_padded_batch_equals_each_utterance_alone(cell, frontend, k):
    torch.manual_seed(0)
    model = AcousticModel(N_MELS, VOCAB, tiny(cell=cell, frontend=frontend, subsample=k)).eval()
    lengths = [11, 4, 7, 1]
    utts = [torch.randn(n, N_MELS) for n in lengths]
    feats = torch.nn.utils.rnn.pad_sequence(utts, batch_first=True)
    feats[1, 4:] = 100.0  # garbage in the padding must not matter
    with torch.no_grad():
        batch_lp, batch_len = model(feats, torch.tensor(lengths))
        for b, u in enumerate(utts):
            alone_lp, alone_len = model(u.unsqueeze(0), torch.tensor([len(u)]))
            n = int(alone_len[0])
            assert int(batch_len[b]) == n
            torch.testing.assert_close(batch_lp[b, :n], alone_lp[0, :n], atol=1e-5, rtol=1e-5)


def test_unidirectional_model_has_half_width():
    model = AcousticModel(N_MELS, VOCAB, tiny(bidirectional=False))
    assert model.output.in_features == 8
    assert AcousticModel(N_MELS, VOCAB, tiny()).output.in_features == 16


@pytest.mark.parametrize(
    "change, word",
    [
        ({"cell": "transformer"}, "model.cell"),
        ({"frontend": "pool"}, "model.frontend"),
        ({"subsample": 0}, "model.subsample"),
        ({"subsample": 5}, "model.subsample"),
        ({"hidden": 0}, "model.hidden"),
        ({"layers": 0}, "model.layers"),
        ({"dropout": 1.0}, "model.dropout"),
    ],
)
def test_check_rejects_bad_settings(change, word):
    settings = ModelSettings(**change)
    with pytest.raises(ConfigError, match=word):
        settings.check()
    with pytest.raises(ConfigError):
        AcousticModel(N_MELS, VOCAB, settings)


def test_defaults_pass_check():
    ModelSettings().check()


def test_a_few_training_steps_reduce_ctc_loss():
    torch.manual_seed(0)
    model = AcousticModel(N_MELS, VOCAB, tiny(subsample=2, layers=1, hidden=16))
    feats = torch.randn(4, 24, N_MELS)
    lengths = torch.tensor([24, 20, 16, 12])
    targets = torch.tensor([[1, 2, 3, 4], [2, 2, 1, 0], [4, 3, 0, 0], [1, 0, 0, 0]])
    target_lengths = torch.tensor([4, 3, 2, 1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    def loss_fn():
        log_probs, out_lengths = model(feats, lengths)
        return F.ctc_loss(log_probs.transpose(0, 1), targets, out_lengths, target_lengths, blank=0)

    losses = []
    for _ in range(30):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < 0.5 * losses[0]
