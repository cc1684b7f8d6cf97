"""Neural up-samplers (PyTorch). Importing this package imports torch; ``import audiosr`` does not."""

from ._base import NeuralUpsampler, PatchUpsampler
from .tfnet import DualBranchSR, TFNetModule

__all__ = ["NeuralUpsampler", "PatchUpsampler", "DualBranchSR", "TFNetModule"]
