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
