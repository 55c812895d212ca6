"""The architecture of a GANN network (:class:`ModelConfig`), without torch.

The command line reads it to build its options, so it stays importable without torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from gann_core.errors import ConfigError


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a GANN network; stored in every model file.

    Attributes:
        gat_hidden: width of each GAT layer output (split over ``heads``).
        gat_layers: number of GAT layers.
        heads: attention heads per GAT layer.
        track_hidden: width of the track embedding after joining the fitted parameters.
        classifier_hidden: width of the pair classifier's hidden layers.
        classifier_layers: number of hidden layers in the pair classifier.
        neighbours: HitGraph edges join each hit to this many hits on each side along r.
        use_time: whether hit time ``t`` is an input (then every input needs a ``t`` column).
        z0_gate_mm: pairs whose fitted |Δz0| exceeds this many mm get the logit
            ``GATED_LOGIT`` (p ≈ 1e-13) in evaluation mode without running the pair
            classifier, which saves its time on pairs that cannot be one collision; 0 turns
            the gate off. Training scores every pair and then sets the gate from the training
            data (``TrainConfig.z0_gate_factor``). Model files written before the gate
            existed load with 0.
    """

    gat_hidden: int = 32
    gat_layers: int = 2
    heads: int = 2
    track_hidden: int = 32
    classifier_hidden: int = 64
    classifier_layers: int = 2
    neighbours: int = 2
    use_time: bool = False
    z0_gate_mm: float = 0.0

    def validate(self) -> None:
        gate = self.z0_gate_mm
        if isinstance(gate, bool) or not isinstance(gate, (int, float)) or not math.isfinite(gate) or gate < 0:
            raise ConfigError(f"model parameter z0_gate_mm={gate!r} is invalid: expected a finite number ≥ 0 (0 = no gate).")
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name not in ("use_time", "z0_gate_mm") and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"model parameter {item.name}={value!r} is invalid: expected an integer ≥ 1.")
        if self.gat_hidden % self.heads:
            raise ConfigError(
                f"model parameter gat_hidden={self.gat_hidden} must be divisible by heads={self.heads}."
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        known = {item.name for item in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown model parameter(s) {sorted(unknown)}; known: {sorted(known)}.")
        return cls(**values)
