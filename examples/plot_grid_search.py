"""
Grid search over DualBranchSR with an LSD scorer
================================================

audiosr estimators are scikit-learn estimators, so
:class:`~sklearn.model_selection.GridSearchCV` tunes them like any other. Two
things are specific to super-resolution:

* the estimators are *transformers* (``transform`` returns the high-rate
  audio), so the scorers come from :mod:`audiosr.metrics`
  (:func:`~audiosr.metrics.make_transform_scorer` and ready-made ones such as
  ``neg_lsd_scorer``) rather than from :func:`sklearn.metrics.make_scorer`;
* training pairs cut from one recording overlap in time, so the folds must
  split by *recording or time span*, not by random pairs, or the test fold
  contains audio the model was trained on.

This example searches the learning rate and the branch configuration of a small
:class:`~audiosr.DualBranchSR` (the full model and the paper's two ablations)
with a two-fold split of one speech clip.
"""

# %%
# Pairs from two halves of a recording
# ------------------------------------
# The shipped speech clip at 16 kHz is cut into its first and second half;
# each half gives its own overlapping training pairs, and ``groups`` records
# which half a pair came from. :class:`~sklearn.model_selection.GroupKFold`
# with two splits then trains on one half and scores on the other, and no
# pair in a test fold shares a sample with a training pair.

import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold

import audiosr
from audiosr import DualBranchSR
from audiosr.metrics import neg_lsd_hf_scorer, neg_lsd_scorer, snr_scorer

rate = 4
y, sr = audiosr.datasets.load_sample("speech", sr=16000)
half = y.size // 2
parts = [audiosr.make_pairs([segment], rate, segment=2048, hop=512) for segment in (y[:half], y[half:])]
X = np.concatenate([p[0] for p in parts])
Y = np.concatenate([p[1] for p in parts])
groups = np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(parts)])
print(f"X {X.shape}, Y {Y.shape}, pairs per half: {np.bincount(groups)}")

# %%
# The search
# ----------
# Three scorers are computed for every candidate; ``refit="lsd"`` picks the
# best mean LSD (scorers are negated so that higher is better, as
# scikit-learn's ``neg_*`` scorers) and refits it on all pairs. The model is
# tiny and trains for 4 epochs so the 6 candidates x 2 folds run in seconds;
# a real search would use the default sizes, a time budget (``max_time``) and
# more data.

base = DualBranchSR(rate=rate, filters=(8, 16), kernel_sizes=(9, 5), max_epochs=4, random_state=0)
grid = {
    "learning_rate": [1e-3, 3e-3],
    "branches": ["both", "time", "frequency"],
}
search = GridSearchCV(
    base,
    grid,
    scoring={"lsd": neg_lsd_scorer, "lsd_hf": neg_lsd_hf_scorer, "snr": snr_scorer},
    refit="lsd",
    cv=GroupKFold(n_splits=2),
)
search.fit(X, Y, groups=groups)

# %%
# The results as a table
# ----------------------
# ``cv_results_`` is a dict of arrays, one entry per candidate (it converts
# directly to a pandas ``DataFrame`` if pandas is installed). The LSD columns
# are shown un-negated, in bels; lower is better.

res = search.cv_results_
order = np.argsort(res["rank_test_lsd"])
print(f"{'rank':>4s}  {'branches':9s} {'lr':>6s}  {'LSD':>13s}  {'LSD-HF':>13s}  {'SNR dB':>13s}  {'fit s':>5s}")
for i in order:
    p = res["params"][i]
    cells = [f"{-res['mean_test_' + k][i]:6.3f} ± {res['std_test_' + k][i]:.3f}" for k in ("lsd", "lsd_hf")]
    cells.append(f"{res['mean_test_snr'][i]:6.2f} ± {res['std_test_snr'][i]:.2f}")
    print(
        f"{res['rank_test_lsd'][i]:4d}  {p['branches']:9s} {p['learning_rate']:6.0e}  "
        f"{'  '.join(cells)}  {res['mean_fit_time'][i]:5.1f}"
    )
print("best:", search.best_params_)

# %%
# The same as a picture: mean LSD over the two folds, with the fold spread.

import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(6, 3))
for j, lr in enumerate(grid["learning_rate"]):
    idx = [i for i, p in enumerate(res["params"]) if p["learning_rate"] == lr]
    x = np.arange(len(idx)) + (j - 0.5) * 0.35
    ax.bar(x, -res["mean_test_lsd"][idx], width=0.35, yerr=res["std_test_lsd"][idx], label=f"learning_rate={lr:g}")
ax.set_xticks(range(len(grid["branches"])), [f'branches="{b}"' for b in grid["branches"]])
ax.set_ylabel("LSD (bels), lower is better")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The refitted best model is ready to use, e.g. on a whole signal of any length:

x = audiosr.decimate(y, rate)
y_hat = audiosr.upsample(x, method=search.best_estimator_)
print(f"best model on the whole clip: LSD {audiosr.metrics.lsd(y, y_hat):.3f}")

# %%
# What the table says, and what it does not
# -----------------------------------------
# The ``± std`` columns are the spread between the two folds. With two halves
# of one 4.5-second clip each mean rests on two numbers, so the ranking of
# candidates whose means differ by less than that spread is not to be trusted. For a real comparison, use many recordings and split by
# speaker or piece, as the evaluation protocol does (see the user guide page
# on evaluation). The last score above is on audio that was also used for
# refitting, so it is only a usage demonstration, not a test score.
#
# The three ``branches`` values are the TFNet paper's ablation: the time
# branch alone (a waveform U-Net), the frequency branch alone (magnitudes only,
# with the phase of the interpolated input), and both with spectral fusion.
