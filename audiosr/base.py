"""The scikit-learn base class shared by every audiosr estimator."""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin

from ._validation import check_clips, check_rate, check_target
from ._version import __version__
from .metrics import snr

__all__ = ["BaseUpsampler"]


class BaseUpsampler(TransformerMixin, BaseEstimator):
    """Base class of all up-samplers: clips of ``n_times`` samples in, ``n_times * rate`` out.

    Data model: ``X`` has shape ``(n_clips, n_times)`` (low-rate clips, time last) and
    ``y`` has shape ``(n_clips, n_times * rate)`` (the matching high-rate clips). Both
    may be float32 or float64; ``transform`` returns the dtype of ``X``.

    Subclasses implement ``_upsample(X, rate)`` on a validated float array. The base
    class is stateless: ``fit`` only validates, so classical methods can be used
    without fitting and compared with trained ones through the same API. Trained
    estimators override ``fit`` and the tags.

    Parameters
    ----------
    rate : int, default=2
        Up-sampling factor (high sample rate / low sample rate), >= 2.
    """

    def __init__(self, rate=2):
        self.rate = rate

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = False
        return tags

    def __getstate__(self):
        # BaseEstimator may hand back the live __dict__: copy before adding to it.
        state = dict(super().__getstate__())
        state["_audiosr_version"] = __version__  # lets load_model warn about old files
        return state

    def fit(self, X, y=None):
        """Check the parameters and the input; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_times)
            Low-rate clips.
        y : None
            Ignored; accepted for API consistency (pipelines, grid search).

        Returns
        -------
        self : object
            The estimator.
        """
        check_rate(self.rate)
        X = check_clips(X)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        """Up-sample each clip by ``rate``.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_times)
            Low-rate clips of any length (interpolation does not depend on the length
            seen in ``fit``).

        Returns
        -------
        X_high : ndarray of shape (n_clips, n_times * rate)
            High-rate clips, in the dtype of ``X`` (float64 for non-float input).
        """
        rate = check_rate(self.rate)
        X = check_clips(X)
        return self._upsample(X, rate)

    def _stream_geometry(self, rate):
        """How to cut a long signal into blocks that up-sample as the whole would.

        Returns ``(granularity, context)`` in low-rate samples: block edges must fall on
        multiples of ``granularity``, and each block is processed with ``context``
        samples of its neighbours on both sides, then cropped. Interpolators reach a
        few samples (the spline's influence decays by ~0.27 per sample), so 64 is plenty.
        """
        return 1, 64

    def _upsample(self, X, rate):  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, X, y):
        """Mean signal-to-noise ratio (dB) of ``transform(X)`` against ``y``.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_times)
            Low-rate clips.
        y : array-like of shape (n_clips, n_times * rate)
            The matching high-rate reference clips.

        Returns
        -------
        score : float
            Mean SNR in dB (see :func:`audiosr.metrics.snr`); higher is better.
        """
        rate = check_rate(self.rate)
        X = check_clips(X)
        y = check_target(y, X, rate)
        return snr(y, self.transform(X))
