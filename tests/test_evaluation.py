"""Tests for the evaluation protocol."""

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
