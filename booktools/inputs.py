"""The book's test inputs: seeded, float64, and well conditioned where a matrix
gets inverted.
"""

from __future__ import annotations

import torch

__all__ = ["well_conditioned"]


def well_conditioned(n: int, seed: int) -> torch.Tensor:
    """G + n·I for a seeded n×n Gaussian G: its singular values lie in about [n
    − 2√n, n + 2√n] (chapter 1), so inverting it loses no digits worth
    mentioning."""
    generator = torch.Generator().manual_seed(seed)
    G = torch.randn(n, n, dtype=torch.float64, generator=generator)
    return G + n * torch.eye(n, dtype=torch.float64)
