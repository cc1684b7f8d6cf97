"""Tests of adversarial training (audiosr.neural.adversarial and its step in the shared training loop)."""

import joblib
import numpy as np
import pytest
import torch

from audiosr import AudioUNet, DualBranchSR
from audiosr.neural import NeuralUpsampler
from audiosr.neural.adversarial import (
    AdversarialTrainer,
    Discriminators,
    MultiPeriodDiscriminator,
    MultiResolutionDiscriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
)
from audiosr.neural.distributed import LocalContext
from audiosr.neural.losses import scaled_resolutions

TINY = dict(
    filters=(4, 8), kernel_sizes=(9, 5), patch_len=256, batch_size=8, max_epochs=2, random_state=0, device="cpu"
)
ADV = dict(TINY, adversarial=0.1)


def data(n=6, length=512, rate=4, seed=0):
    y = np.random.default_rng(seed).standard_normal((n, length)).astype(np.float32)
    return y[:, ::rate].copy(), y


def clone_state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


# ------------------------------------------------------------------ discriminators


@pytest.mark.parametrize("n_times", [256, 1000, 2048])
def test_period_discriminator_shapes(n_times):
    channels = (4, 8, 16)
    outputs = MultiPeriodDiscriminator(channels=channels)(torch.randn(3, n_times))
    assert len(outputs) == 5
    for period, (logits, features) in zip((2, 3, 5, 7, 11), outputs, strict=True):
        rows = -(-n_times // period)  # folded length after padding to a multiple of the period
        for layer, width in enumerate(channels):
            rows = (rows - 1) // 3 + 1  # stride 3, "same" padding
            assert features[layer].shape == (3, width, rows, period)
        assert features[-2].shape == (3, channels[-1], rows, period)
        assert features[-1].shape == (3, 1, rows, period)
        assert logits.shape == (3, rows * period)


@pytest.mark.parametrize("n_times", [256, 1000, 2048])
def test_resolution_discriminator_shapes(n_times):
    outputs = MultiResolutionDiscriminator(patch_len=n_times, channels=6)(torch.randn(2, n_times))
    resolutions = scaled_resolutions(n_times)
    assert len(outputs) == len(resolutions)
    for (n_fft, hop), (logits, features) in zip(resolutions, outputs, strict=True):
        bins, frames = n_fft // 2 + 1, n_times // hop + 1
        bins = (bins - 1) // 2 + 1  # the first convolution is strided by 2 along frequency
        assert features[0].shape == (2, 6, bins, frames)
        for _ in range(2):  # so are the next two of the default 4
            bins = (bins - 1) // 2 + 1
        assert features[-1].shape == (2, 1, bins, frames)
        assert logits.shape == (2, bins * frames)
        assert torch.isfinite(logits).all()


def test_discriminators_take_gradients_to_their_input():
    x = torch.randn(2, 512, requires_grad=True)
    outputs = Discriminators(512)(x)
    assert len(outputs) == 8
    generator_loss(outputs).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


# ------------------------------------------------------------------ losses on known inputs


def outputs(*values, shape=(2, 3)):
    return [(torch.full(shape, float(v)), [torch.full(shape, float(v)), torch.full((4,), 2.0 * v)]) for v in values]


@pytest.mark.parametrize(
    "real, fake, expected", [((1, 1), (0, 0), 0.0), ((0, 1), (0, 0), 1.0), ((1, 1), (0.5, -1), 1.25), ((3,), (2,), 8.0)]
)
def test_discriminator_loss_known_values(real, fake, expected):
    # sum over sub-discriminators of (real - 1)^2 + fake^2
    assert discriminator_loss(outputs(*real), outputs(*fake)).item() == pytest.approx(expected)


@pytest.mark.parametrize("fake, expected", [((1, 1), 0.0), ((0, 1), 1.0), ((0.5, 3), 4.25)])
def test_generator_loss_known_values(fake, expected):
    assert generator_loss(outputs(*fake)).item() == pytest.approx(expected)


@pytest.mark.parametrize("real, fake, expected", [((1, 2), (1, 2), 0.0), ((1,), (0,), 3.0), ((1, 0), (0.5, 1), 4.5)])
def test_feature_matching_known_values(real, fake, expected):
    # features: the value v and a vector of 2 v; |dv| + 2 |dv| per sub-discriminator
    assert feature_matching_loss(outputs(*real), outputs(*fake)).item() == pytest.approx(expected)


def test_feature_matching_does_not_train_on_the_reference():
    real = [(None, [torch.ones(3, requires_grad=True)])]
    fake = [(None, [torch.zeros(3, requires_grad=True)])]
    feature_matching_loss(real, fake).backward()
    assert real[0][1][0].grad is None and fake[0][1][0].grad is not None


def test_generator_loss_of_the_trainer_weighs_both_terms():
    torch.manual_seed(0)
    trainer = AdversarialTrainer(0.5, 256, 1e-3, torch.device("cpu"), feature_matching=3.0)
    fake, real = torch.randn(2, 256), torch.randn(2, 256)
    fake_out, real_out = trainer.discriminators(fake), trainer.discriminators(real)
    expected = 0.5 * (generator_loss(fake_out) + 3.0 * feature_matching_loss(real_out, fake_out))
    assert trainer.generator_loss(fake, real).item() == pytest.approx(expected.item(), rel=1e-6)
    # The generator's terms leave no gradient on the discriminators.
    assert all(p.grad is None for p in trainer.discriminators.parameters())


# ------------------------------------------------------------------ the step in the training loop


@pytest.mark.parametrize("Model", [DualBranchSR, AudioUNet])
def test_an_adversarial_step_updates_both_nets(Model, monkeypatch):
    seen = {}
    original = NeuralUpsampler._run_epoch

    def wrapped(self, module, *args, adversary=None, **kwargs):
        seen["generator"] = clone_state(module)
        seen["discriminators"] = clone_state(adversary.discriminators)
        seen["adversary"] = adversary
        return original(self, module, *args, adversary=adversary, **kwargs)

    monkeypatch.setattr(NeuralUpsampler, "_run_epoch", wrapped)
    X, y = data(n=4)  # 8 patches: one step of batch 8
    model = Model(rate=4, **{**ADV, "max_epochs": 1}).fit(X, y)
    assert model.t_ == 8
    after_g = model.module_.state_dict()
    after_d = seen["adversary"].discriminators.state_dict()
    assert any(not torch.equal(seen["generator"][k], after_g[k]) for k in after_g)
    assert all(not torch.equal(seen["discriminators"][k], after_d[k]) for k in after_d)
    assert len(model.discriminator_loss_curve_) == 1 and np.isfinite(model.discriminator_loss_curve_[0])
    # The adversarial terms change the generator's update.
    monkeypatch.undo()
    plain = Model(rate=4, **{**TINY, "max_epochs": 1}).fit(X, y)
    assert any(not torch.equal(plain.module_.state_dict()[k], after_g[k]) for k in after_g)


def test_the_poly_schedule_decays_the_discriminators_too(monkeypatch):
    trainers = []
    original = AdversarialTrainer.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        trainers.append(self)

    monkeypatch.setattr(AdversarialTrainer, "__init__", spy)
    X, y = data()
    DualBranchSR(rate=4, discriminator_lr=2e-3, **{**ADV, "learning_rate": 1e-3}).fit(X, y)
    (trainer,) = trainers
    assert trainer.optimizer.param_groups[0]["initial_lr"] == 2e-3
    assert trainer.optimizer.param_groups[0]["lr"] == 0.0  # 2 epochs of the poly schedule: decayed to zero


def test_the_fitted_model_holds_no_discriminator(tmp_path):
    X, y = data()
    model = DualBranchSR(rate=4, **ADV).fit(X, y)
    held = [k for k, v in vars(model).items() if isinstance(v, (AdversarialTrainer, torch.nn.Module))]
    assert held == ["module_"]
    plain = DualBranchSR(rate=4, **TINY).fit(X, y)
    joblib.dump(model, tmp_path / "adv.joblib")
    joblib.dump(plain, tmp_path / "plain.joblib")
    # Only the generator's weights travel (the small difference is the parameters and curves).
    assert abs((tmp_path / "adv.joblib").stat().st_size - (tmp_path / "plain.joblib").stat().st_size) < 2000
    loaded = joblib.load(tmp_path / "adv.joblib")
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


CKPT = dict(ADV, max_epochs=4, early_stopping=True, n_iter_no_change=10, learning_rate=5e-3)


def test_interrupted_adversarial_fit_resumes_to_the_same_result(tmp_path, monkeypatch):
    X, y = data()
    reference_path = tmp_path / "reference.ckpt"
    reference = DualBranchSR(rate=4, checkpoint=reference_path, **CKPT).fit(X, y)
    path = tmp_path / "train.ckpt"
    calls = {"n": 0}
    original = NeuralUpsampler._run_epoch

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NeuralUpsampler, "_run_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        DualBranchSR(rate=4, checkpoint=path, **CKPT).fit(X, y)
    saved = torch.load(path, weights_only=True)
    assert saved["epoch"] == 2 and len(saved["adversary"]["loss_curve"]) == 2
    monkeypatch.undo()
    resumed = DualBranchSR(rate=4, checkpoint=path, **CKPT).fit(X, y)
    assert_same_state(clone_state(reference.module_), clone_state(resumed.module_))
    assert resumed.loss_curve_ == reference.loss_curve_
    assert resumed.discriminator_loss_curve_ == reference.discriminator_loss_curve_
    final, expected = torch.load(path, weights_only=True), torch.load(reference_path, weights_only=True)
    assert_same_state(final["adversary"]["discriminators"], expected["adversary"]["discriminators"])
    assert final["adversary"]["optimizer"]["state"].keys() == expected["adversary"]["optimizer"]["state"].keys()
    for key, value in expected["adversary"]["optimizer"]["state"].items():
        assert torch.equal(final["adversary"]["optimizer"]["state"][key]["exp_avg"], value["exp_avg"])


def test_a_plain_checkpoint_is_refused_for_adversarial_training(tmp_path):
    X, y = data()
    path = tmp_path / "train.ckpt"
    DualBranchSR(rate=4, checkpoint=path, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="another configuration"):
        DualBranchSR(rate=4, checkpoint=path, **ADV).fit(X, y)


class TwoProcesses(LocalContext):
    world_size = 2


def test_adversarial_training_is_refused_on_several_processes():
    X, y = data()
    with pytest.raises(ValueError, match="not supported on several processes"):
        DualBranchSR(rate=4, **ADV)._fit(X, y, TwoProcesses())


@pytest.mark.parametrize(
    "params, match",
    [
        ({"adversarial": -0.1}, "adversarial"),
        ({"adversarial": float("nan")}, "adversarial"),
        ({"adversarial": 0.1, "discriminator_lr": 0.0}, "discriminator_lr"),
        ({"adversarial": 0.1, "discriminator_lr": "fast"}, "discriminator_lr"),
    ],
)
def test_bad_adversarial_parameters(params, match):
    X, y = data()
    with pytest.raises(ValueError, match=match):
        AudioUNet(rate=4, **{**TINY, **params}).fit(X, y)
