"""The GANN network: GAT track encoder, fitted track parameters, symmetric pair classifier."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from gann_core.graph import LOG_DZ0_COLUMN, LOG_FLOOR, GraphArrays, GraphBatch, feature_names
from gann_core.model.classifier import PairClassifier
from gann_core.model.config import ModelConfig
from gann_core.model.encoder import GATEncoder


#: Logit given to pairs outside the z0 gate: p = sigmoid(−30) ≈ 1e-13.
GATED_LOGIT = -30.0


class GANN(nn.Module):
    """Score candidate track pairs of a batch of timeslices as p(same event).

    Inputs are standardised with per-feature means and standard deviations taken from the
    training data (:meth:`set_normalization`) and stored as buffers. The track embedding is
    an MLP on [mean-pooled GAT embedding ‖ standardised fitted helix parameters]; the pair
    classifier (:class:`PairClassifier`) sees both embeddings and the pair geometry. With a
    z0 gate (``ModelConfig.z0_gate_mm``), pairs far apart in z0 skip the classifier.
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        self.config.validate()
        names = feature_names(self.config.use_time)
        n_hit, n_track, n_pair = len(names["hit"]), len(names["track"]), len(names["pair"])
        self.encoder = GATEncoder(n_hit, self.config.gat_hidden, self.config.gat_layers, self.config.heads)
        self.track_mlp = nn.Sequential(
            nn.Linear(self.encoder.out_features + n_track, self.config.track_hidden),
            nn.SiLU(),
            nn.Linear(self.config.track_hidden, self.config.track_hidden),
        )
        self.classifier = PairClassifier(
            self.config.track_hidden, n_pair, self.config.classifier_hidden, self.config.classifier_layers
        )
        for prefix, size in (("hit", n_hit), ("track", n_track), ("pair", n_pair)):
            self.register_buffer(f"{prefix}_mean", torch.zeros(size))
            self.register_buffer(f"{prefix}_std", torch.ones(size))

    def set_normalization(self, arrays: GraphArrays) -> None:
        """Take feature means and standard deviations from training arrays."""
        for prefix, values in (("hit", arrays.hit_x), ("track", arrays.track_x), ("pair", arrays.pair_x)):
            mean = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
            std = values.std(axis=0) if len(values) else np.ones(values.shape[1])
            std = np.where(std > 1e-6, std, 1.0)
            getattr(self, f"{prefix}_mean").copy_(torch.as_tensor(mean, dtype=torch.float32))
            getattr(self, f"{prefix}_std").copy_(torch.as_tensor(std, dtype=torch.float32))

    def _standardize(self, values: torch.Tensor, prefix: str) -> torch.Tensor:
        """(values − mean) / std with the stored statistics, as one fused multiply-add."""
        scale = 1.0 / getattr(self, f"{prefix}_std")
        return torch.addcmul(-getattr(self, f"{prefix}_mean") * scale, values, scale)

    def embed_tracks(self, data: GraphBatch) -> torch.Tensor:
        """Track embeddings, shape (num_tracks, track_hidden)."""
        x = self._standardize(data.x, "hit")
        pooled = self.encoder(x, data.edge_index, data.hit_track, data.num_tracks, band=getattr(data, "hit_band", None))
        track_x = self._standardize(data.track_x, "track")
        return self.track_mlp(torch.cat([pooled, track_x], dim=1))

    def pairs_inside_gate(self, data: GraphBatch) -> torch.Tensor | None:
        """Boolean mask of the pairs the classifier scores, or None when the z0 gate is off.

        The test reads the unstandardised feature log(|Δz0| + floor), so it is exact in mm.
        """
        if self.config.z0_gate_mm <= 0:
            return None
        return data.pair_x[:, LOG_DZ0_COLUMN] <= math.log(self.config.z0_gate_mm + LOG_FLOOR)

    def forward(self, data: GraphBatch) -> torch.Tensor:
        """Return one logit of p(same event) per pair in ``data.pair_index``.

        Batches with ``pair_rows`` (see :class:`~gann_core.graph.GraphArrays`) hold only
        pairs inside the gate already, so the classifier scores them all.
        """
        embedding = self.embed_tracks(data)
        pair_x = self._standardize(data.pair_x, "pair")
        if getattr(data, "pair_rows", None) is not None:
            return self.classifier(embedding, data.pair_index, pair_x)
        # Training scores every pair: the classifier learns from the easy pairs too, and the
        # loss weights ω_p, ω_n keep the meaning they have without a gate.
        inside = None if self.training else self.pairs_inside_gate(data)
        if inside is None:
            return self.classifier(embedding, data.pair_index, pair_x)
        logits = pair_x.new_full((pair_x.shape[0],), GATED_LOGIT)
        if pair_x.device.type == "cpu":
            # Only the pairs inside the gate go through the classifier. Finding them reads the
            # mask on the host, which on a GPU would wait for the device. So on a GPU the
            # classifier runs on every pair and the mask is applied afterwards.
            index = inside.nonzero().squeeze(1)
            scored = self.classifier(embedding, data.pair_index[:, index], pair_x[index])
            return logits.index_put((index,), scored)
        return torch.where(inside, self.classifier(embedding, data.pair_index, pair_x), logits)
