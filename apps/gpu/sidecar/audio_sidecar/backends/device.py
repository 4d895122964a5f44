"""Which device the real models run on."""

from __future__ import annotations


def pick_device(setting: str) -> str:
    """``auto`` means CUDA when torch sees a GPU, else CPU (slow, but it runs: useful to debug)."""
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
