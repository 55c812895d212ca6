"""Pair classifier: p(same event) from a symmetric combination of two track embeddings."""

from __future__ import annotations

import torch
from torch import nn


class PairClassifier(nn.Module):
    """MLP on [e_a + e_b, |e_a − e_b|, e_a ⊙ e_b, g_ab] returning the logit of p(same event).

    ``e_a``, ``e_b`` are the two track embeddings and ``g_ab`` the pair geometry features.
    Every input term is unchanged when the two tracks are swapped, so the score is exactly
    symmetric in the pair.

    Args:
        track_features: width of a track embedding.
        pair_features: number of pair geometry features.
        hidden: width of the hidden layers.
        layers: number of hidden layers (≥ 1).
    """

    def __init__(self, track_features: int, pair_features: int, hidden: int = 64, layers: int = 2):
        super().__init__()
        blocks: list[nn.Module] = []
        width = 3 * track_features + pair_features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        blocks.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*blocks)

    def reset_parameters(self) -> None:
        for module in self.mlp:
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    def forward(self, track_embedding: torch.Tensor, pair_index: torch.Tensor, pair_x: torch.Tensor) -> torch.Tensor:
        """Return one logit per pair, shape (num_pairs,)."""
        # index_select gathers rows several times faster than indexing with a tensor on the CPU.
        ea = track_embedding.index_select(0, pair_index[0])
        eb = track_embedding.index_select(0, pair_index[1])
        combined = torch.cat([ea + eb, (ea - eb).abs(), ea * eb, pair_x], dim=1)
        return self.mlp(combined).squeeze(1)
