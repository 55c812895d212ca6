"""Track encoder: stacked graph attention layers over the HitGraph, mean-pooled per track."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GATConv
from torch_geometric.utils import scatter


class GATEncoder(nn.Module):
    """Stacked GAT layers with tanh between them, then the mean of each track's hit embeddings.

    Each layer computes, for hit i with neighbours N(i) (itself included),

        h_i' = ‖_k Σ_{j ∈ N(i)} α_ij^k W^k h_j,
        α_ij^k = softmax_j( LeakyReLU( a^kᵀ [W^k h_i ‖ W^k h_j] ) ),

    with k over ``heads`` attention heads whose outputs are concatenated (``hidden`` features
    in total, so ``hidden`` must be divisible by ``heads``). This is
    ``torch_geometric.nn.GATConv`` with ``concat=True``; tanh follows every layer.

    Args:
        in_features: hit feature count.
        hidden: width of every layer's output.
        layers: number of GAT layers (≥ 1).
        heads: attention heads per layer.
    """

    def __init__(self, in_features: int, hidden: int = 32, layers: int = 2, heads: int = 2):
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden={hidden} must be divisible by heads={heads}.")
        self.convs = nn.ModuleList()
        width = in_features
        for _ in range(layers):
            self.convs.append(GATConv(width, hidden // heads, heads=heads, concat=True, add_self_loops=True))
            width = hidden
        self.out_features = hidden
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, hit_track: torch.Tensor, num_tracks: int) -> torch.Tensor:
        """Return track embeddings, shape (num_tracks, hidden)."""
        h = x
        for conv in self.convs:
            h = torch.tanh(conv(h, edge_index))
        return scatter(h, hit_track, dim=0, dim_size=num_tracks, reduce="mean")
