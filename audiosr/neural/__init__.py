"""Neural up-samplers (PyTorch). Importing this package imports torch; ``import audiosr`` does not."""

from ._base import NeuralUpsampler, PatchUpsampler
from .audiounet import AudioUNet, AudioUNetModule
from .distributed import fit_distributed
from .spectral_dnn import SpectralDNN, SpectralDNNModule
from .tfnet import DualBranchSR, TFNetModule

__all__ = [
    "NeuralUpsampler",
    "PatchUpsampler",
    "DualBranchSR",
    "TFNetModule",
    "AudioUNet",
    "AudioUNetModule",
    "SpectralDNN",
    "SpectralDNNModule",
    "fit_distributed",
]
