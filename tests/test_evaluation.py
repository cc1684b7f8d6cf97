"""Tests for the evaluation protocol."""

import re

import numpy as np
import pytest

from audiosr import SplineUpsampler, decimate, upsample
from audiosr.evaluation import evaluate
from audiosr.metrics import lsd, lsd_hf, snr


def test_mean_over_files_of_the_documented_pipeline(harmonic):
    refs = list(harmonic(3, 8001, seed=2))
    scores = evaluate(SplineUpsampler(rate=4), refs, 4)
    rows = []
    for y in refs:
        y = y[:8000]
        y_hat = upsample(decimate(y, 4), 4, method="spline")
        rows.append((snr(y, y_hat), lsd(y, y_hat), lsd_hf(y, y_hat, rate=4)))
    assert scores["files"] == 3
    np.testing.assert_allclose([scores["snr"], scores["lsd"], scores["lsd_hf"]], np.mean(rows, axis=0))


def test_extra_lsd_conventions_are_per_file_means(harmonic):
    refs = list(harmonic(2, 8000, seed=3))
    scores = evaluate("spline", refs, 4, lsd_conventions=("kuleshov2017", "tfnet2018"))
    for convention in ("kuleshov2017", "tfnet2018"):
        expected = np.mean([lsd(y, upsample(decimate(y, 4), 4, method="spline"), convention=convention) for y in refs])
        assert scores[f"lsd_{convention}"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="lsd_conventions"):
        evaluate("spline", refs, 4, lsd_conventions=("ln",))


def test_errors():
    with pytest.raises(ValueError, match="empty"):
        evaluate("sinc", [], 4)
    with pytest.raises(ValueError, match="method"):
        evaluate("sinc", [np.zeros(4000)], 4, decimation="cheby")


def test_several_input_makers_in_one_call(harmonic):
    refs = list(harmonic(2, 8000, seed=4))
    rows = evaluate("sinc", refs, 4, decimation=("iir", "poly", "soxr_hq"), lsd_conventions=("kuleshov2017",))
    assert [r["decimation"] for r in rows] == ["iir", "poly", "soxr_hq"]
    for row in rows:
        alone = evaluate("sinc", refs, 4, decimation=row["decimation"], lsd_conventions=("kuleshov2017",))
        assert "decimation" not in alone
        assert row == {"decimation": row["decimation"], **alone}
    # The makers differ, so do the scores: the Chebyshev input lacks the top fifth of the band.
    assert rows[0]["snr"] != rows[1]["snr"] and rows[0]["lsd"] > rows[2]["lsd"]


def test_input_maker_errors():
    with pytest.raises(ValueError, match="decimation is empty"):
        evaluate("sinc", [np.zeros(4000)], 4, decimation=[])
    with pytest.raises(ValueError, match="decimation method must be one of"):
        evaluate("sinc", [np.zeros(4000)], 4, decimation=["iir", "mix"])


def test_input_makers_score_the_model_and_the_baseline_on_each_maker(harmonic):
    from audiosr.evaluation import INPUT_MAKERS, evaluate_input_makers
    from audiosr.signal import MIX_METHODS

    # Every filter the training mix draws from is checked, and no maker that filters nothing.
    assert set(MIX_METHODS) <= set(INPUT_MAKERS) and "subsample" not in INPUT_MAKERS
    refs = list(harmonic(2, 8000, seed=5))
    scores = evaluate_input_makers(SplineUpsampler(rate=4), refs, 4, makers=("iir", "fft"))
    assert list(scores) == ["iir", "fft"]
    for maker, row in scores.items():
        assert set(row) == {"model", "sinc"}
        for name, method in (("model", "spline"), ("sinc", "sinc")):
            expected = evaluate(method, refs, 4, decimation=maker)
            assert row[name] == {k: expected[k] for k in ("snr", "lsd", "lsd_hf")}
    alone = evaluate_input_makers("spline", refs, 4, makers="poly", baseline=None)
    assert list(alone) == ["poly"] and set(alone["poly"]) == {"model"}
    assert set(evaluate_input_makers("sinc", refs, 4, makers="iir", baseline="spline")["iir"]) == {"model", "spline"}
    with pytest.raises(ValueError, match="decimation method must be one of"):
        evaluate_input_makers("sinc", refs, 4, makers=["iir", "cheby"])


def _row(snr_model, lsd_model, snr_base=20.0, lsd_base=2.0):
    return {"model": {"snr": snr_model, "lsd": lsd_model}, "sinc": {"snr": snr_base, "lsd": lsd_base}}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (_row(20.0, 1.5), None),
        (_row(19.5, 1.5), None),  # exactly the tolerance: passes
        (_row(19.49, 1.5), r"SNR 19.49 dB is 0.51 dB below sinc's 20.00 dB \(at most 0.5 dB allowed\)"),
        (_row(25.0, 2.0), r"^LSD 2.000 is not below sinc's 2.000$"),
        (_row(10.0, 2.5), r"^LSD 2.500 is not below sinc's 2.000; SNR 10.00 dB is 10.00 dB below"),
    ],
)
def test_ship_rule_per_maker(row, reason):
    from audiosr.evaluation import ship_rule

    failures = ship_rule({"iir": _row(21.0, 1.0), "soxr_hq": row})
    if reason is None:
        assert failures == {}
    else:
        assert list(failures) == ["soxr_hq"]
        assert re.search(reason, failures["soxr_hq"])


def test_ship_rule_options_and_errors():
    from audiosr.evaluation import ship_rule

    assert ship_rule({"iir": _row(19.0, 1.5)}, snr_tolerance=1.0) == {}
    spline = {"iir": {"model": {"snr": 20.0, "lsd": 1.0}, "spline": {"snr": 20.0, "lsd": 0.5}}}
    assert list(ship_rule(spline, baseline="spline")) == ["iir"]
    with pytest.raises(ValueError, match="scores is empty"):
        ship_rule({})
    with pytest.raises(ValueError, match=r"needs the 'model' and 'sinc' figures; it has \['model'\]"):
        ship_rule({"iir": {"model": {"snr": 1.0, "lsd": 1.0}}})


@pytest.fixture(scope="module")
def tiny_model(harmonic):
    from audiosr import DualBranchSR

    y = harmonic(6, 4096, seed=1)
    model = DualBranchSR(
        rate=4, filters=(4, 8), kernel_sizes=(9, 5), patch_len=256, max_epochs=3, learning_rate=1e-2,
        random_state=0, device="cpu",
    )  # fmt: skip
    return model.fit(y[:, ::4], y)


def test_calibrated_setting_is_the_lowest_lsd_that_passes_with_the_margin(harmonic, tiny_model):
    import copy

    from audiosr.evaluation import calibrate_bands, evaluate_input_makers, ship_rule

    refs = list(harmonic(2, 8000, seed=7))
    gains, crossovers = [1.0, 0.6, 0.0], [0.75, 0.9, False]
    # A tiny model does not beat sinc; its own bare output is the baseline here.
    bare = copy.copy(tiny_model).set_params(keep_low_band=False, high_band_gain=1.0)
    tiny_model.set_params(high_band_gain=0.8)
    found = calibrate_bands(
        tiny_model, refs, 4, makers=["iir", "fft"], gains=gains, crossovers=crossovers, baseline=bare, margin=0.1
    )
    assert (tiny_model.high_band_gain, tiny_model.keep_low_band) == (0.8, True)  # the model is not changed
    candidates = found["candidates"]
    assert [(c["keep_low_band"], c["high_band_gain"]) for c in candidates] == [(c, g) for c in crossovers for g in gains]
    assert found["snr_tolerance"] == pytest.approx(0.4)
    for c in (candidates[1], candidates[5], candidates[6]):  # the scores are what the model with that setting gets
        tiny_model.set_params(keep_low_band=c["keep_low_band"], high_band_gain=c["high_band_gain"])
        expected = evaluate_input_makers(tiny_model, refs, 4, makers=["iir", "fft"], baseline=bare)
        for maker in expected:
            for who in ("model", "DualBranchSR"):
                for key, value in expected[maker][who].items():
                    assert c["scores"][maker][who][key] == pytest.approx(value, abs=1e-9)
    tiny_model.set_params(keep_low_band=True, high_band_gain=1.0)
    assert len({c["scores"]["fft"]["model"]["snr"] for c in candidates}) == len(candidates)  # every setting counts
    mean_lsd = [np.mean([row["model"]["lsd"] for row in c["scores"].values()]) for c in candidates]
    for c in candidates:
        assert c["failures"] == ship_rule(c["scores"], baseline="DualBranchSR", snr_tolerance=0.4)
    passing = [i for i, c in enumerate(candidates) if not c["failures"]]
    assert passing and len(passing) < len(candidates)  # the bare output itself does not pass
    best = min(passing, key=lambda i: mean_lsd[i])
    assert (found["keep_low_band"], found["high_band_gain"]) == (
        candidates[best]["keep_low_band"], candidates[best]["high_band_gain"])  # fmt: skip
    # The model's own crossover when none is given.
    own = calibrate_bands(tiny_model, refs[:1], 4, makers="iir", gains=[0.5], baseline=bare)
    assert [(c["keep_low_band"], c["high_band_gain"]) for c in own["candidates"]] == [(True, 0.5)]


def test_calibration_finds_no_setting_when_none_passes(harmonic, tiny_model):
    import copy

    from audiosr.evaluation import calibrate_bands

    refs = list(harmonic(1, 8000, seed=7))
    # Against the model itself, nothing has a *lower* LSD.
    same = copy.copy(tiny_model).set_params(high_band_gain=0.0)
    found = calibrate_bands(tiny_model, refs, 4, makers="iir", gains=[0.0], baseline=same)
    assert found["keep_low_band"] is None and found["high_band_gain"] is None
    assert "is not below" in found["candidates"][0]["failures"]["iir"]


def test_calibration_errors(harmonic, tiny_model):
    from audiosr.evaluation import calibrate_bands

    refs = list(harmonic(1, 4000))
    with pytest.raises(TypeError, match="no keep_low_band and high_band_gain parameters"):
        calibrate_bands(SplineUpsampler(rate=4), refs, 4)
    with pytest.raises(ValueError, match="each of gains must be a finite number >= 0"):
        calibrate_bands(tiny_model, refs, 4, gains=[1.0, -1.0])
    with pytest.raises(ValueError, match="each of crossovers must be True, False or a crossover frequency"):
        calibrate_bands(tiny_model, refs, 4, crossovers=[1.5])
    with pytest.raises(ValueError, match="must each hold at least one setting"):
        calibrate_bands(tiny_model, refs, 4, gains=[])
    with pytest.raises(ValueError, match="margin must lie in"):
        calibrate_bands(tiny_model, refs, 4, margin=0.6)
    with pytest.raises(ValueError, match="references is empty"):
        calibrate_bands(tiny_model, [], 4)
    with pytest.raises(ValueError, match="decimation method must be one of"):
        calibrate_bands(tiny_model, refs, 4, makers=["cheby"])
