"""Training settings: one dataclass whose defaults live here, plus the published presets."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

from gann_core.errors import ConfigError
from gann_core.model.config import ModelConfig


#: Ways to choose the stored decision threshold (see ``TrainConfig.tune_threshold``).
THRESHOLD_RULES = ("off", "accuracy", "beat-baselines")


@dataclass(frozen=True)
class Stage:
    """One step of hierarchical learning: timeslices with these composition parameters."""

    n_events: float
    max_tracks: int


@dataclass(frozen=True)
class TrainConfig:
    """Settings of ``gann train``.

    Hierarchical learning trains on easy timeslices first and steps up ``n_events`` /
    ``max_tracks``: each stage has its own ``n_train``/``n_test`` split, and training moves
    to the next stage after an epoch whose test edge accuracy is at or above
    ``promotion_accuracy`` (or after ``max_epochs_per_stage``). The last stage runs
    ``final_epochs`` epochs and the model with the best test edge accuracy is kept.

    Attributes:
        geometry: simulation geometry, "spd" or "trackml" (ignored with ``train_files``).
        stages: composition of each stage; the last one is the target setting.
        simulation: further :class:`gann_core.simulate.SimulationConfig` fields, e.g.
            ``{"vertex_sigma_z_mm": 300.0}``.
        train_files: the user's parquet files (with ``event_id``) used instead of simulation;
            they form one stage, split ``n_train``:``n_test`` by timeslice (fractions of the
            files' timeslices when the files hold fewer than ``n_train + n_test``).
        n_train, n_test: timeslices per stage (700/300 as in the original presentation).
        promotion_accuracy: test edge accuracy needed to move on (0.9).
        max_epochs_per_stage: cap on epochs in a non-final stage.
        final_epochs: epochs in the last stage.
        batch_size: timeslices per optimisation step.
        learning_rate: Adam step size; decays by cosine over the last stage.
        weight_positive, weight_negative, gamma: balanced focal loss ω_p, ω_n, γ.
        threshold: decision threshold stored in the model (p > threshold means same event).
        tune_threshold: how the stored pair threshold is chosen on the last stage's test
            timeslices (the ones that also pick the best epoch); the stored assembly
            threshold stays ``threshold``:
            "off" stores ``threshold``; "accuracy" the threshold that maximises edge
            accuracy. "beat-baselines" keeps ``threshold`` when the network's edge
            precision, recall and accuracy are all at least those of every classical baseline
            at that threshold. Otherwise it takes the threshold up to 0.95 where they are,
            with the widest margin (:func:`gann_core.train.loop.beat_baselines_threshold`).
            ``True``/``False`` mean "accuracy"/"off".
        assembly: event assembly method stored in the model.
        z0_gate_factor: the model's z0 gate (``ModelConfig.z0_gate_mm``) is set to this
            factor times the 99.9 % quantile of |Δz0| over the true pairs of the last
            stage's training timeslices; pairs further apart skip the classifier when the
            model scores (training itself sees every pair). 0 turns the gate off.
        seed: seeds simulation, splits and initialisation.
        device: "auto" (CUDA when available), "cpu" or "cuda".
        model: network architecture.
    """

    geometry: str = "spd"
    stages: tuple[Stage, ...] = (Stage(2, 3), Stage(5, 4), Stage(10, 5))
    simulation: dict = field(default_factory=dict)
    train_files: tuple[str, ...] = ()
    n_train: int = 700
    n_test: int = 300
    promotion_accuracy: float = 0.9
    max_epochs_per_stage: int = 5
    final_epochs: int = 20
    batch_size: int = 16
    learning_rate: float = 3e-3
    weight_positive: float = 1.0
    weight_negative: float = 0.5
    gamma: float = 1.5
    threshold: float = 0.5
    tune_threshold: str = "off"
    assembly: str = "average"
    z0_gate_factor: float = 3.0
    seed: int = 0
    device: str = "auto"
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self) -> None:
        # Files written before the rules had names store a bool.
        if isinstance(self.tune_threshold, bool):
            object.__setattr__(self, "tune_threshold", "accuracy" if self.tune_threshold else "off")

    def validate(self) -> None:
        if self.tune_threshold not in THRESHOLD_RULES:
            raise ConfigError(
                f"tune_threshold={self.tune_threshold!r} is invalid; use one of {', '.join(map(repr, THRESHOLD_RULES))}."
            )
        if self.geometry not in ("spd", "trackml"):
            raise ConfigError(f"geometry={self.geometry!r} is invalid; use 'spd' or 'trackml'.")
        if not self.stages and not self.train_files:
            raise ConfigError("stages is empty; give at least one stage (n_events, max_tracks).")
        for stage in self.stages:
            if stage.n_events < 1 or stage.max_tracks < 2:
                raise ConfigError(
                    f"stage {stage} is invalid: n_events must be ≥ 1 and max_tracks ≥ 2."
                )
        for name in ("n_train", "n_test", "max_epochs_per_stage", "final_epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} is invalid: expected an integer ≥ 1.")
        if not 0 < self.promotion_accuracy <= 1:
            raise ConfigError(f"promotion_accuracy={self.promotion_accuracy} is invalid: expected 0 < value ≤ 1.")
        if not 0 < self.threshold < 1:
            raise ConfigError(f"threshold={self.threshold} is invalid: expected 0 < value < 1.")
        if not math.isfinite(self.z0_gate_factor) or self.z0_gate_factor < 0:
            raise ConfigError(f"z0_gate_factor={self.z0_gate_factor} is invalid: expected a finite number ≥ 0 (0 = no gate).")
        for name in ("learning_rate", "weight_positive", "weight_negative", "gamma"):
            value = getattr(self, name)
            lowest_ok = 0.0 if name == "gamma" else None
            if not math.isfinite(value) or (value < 0 if lowest_ok == 0.0 else value <= 0):
                accepted = "a finite number ≥ 0" if name == "gamma" else "a finite number > 0"
                raise ConfigError(f"{name}={value} is invalid: expected {accepted}.")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"device={self.device!r} is invalid; use 'auto', 'cpu' or 'cuda'.")
        self.model.validate()

    def to_dict(self) -> dict:
        values = asdict(self)
        values["stages"] = [[stage.n_events, stage.max_tracks] for stage in self.stages]
        values["train_files"] = list(self.train_files)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        values = dict(values)
        values["stages"] = tuple(Stage(float(n), int(m)) for n, m in values.get("stages", ()))
        values["train_files"] = tuple(values.get("train_files", ()))
        values["model"] = ModelConfig.from_dict(values.get("model", {}))
        return cls(**values)


#: The four published configurations (data, n_events, max_tracks, ω_p, ω_n, γ). Each trains
#: hierarchically up to its target setting and is evaluated on timeslices of that setting.
PRESETS: dict[str, dict] = {
    "spd-10": dict(geometry="spd", stages=(Stage(2, 3), Stage(5, 4), Stage(10, 5)), weight_negative=0.4),
    "spd-15": dict(geometry="spd", stages=(Stage(2, 3), Stage(5, 4), Stage(10, 5), Stage(15, 5)), weight_negative=0.6),
    "trackml-10": dict(geometry="trackml", stages=(Stage(2, 3), Stage(5, 4), Stage(10, 4)), weight_negative=0.5),
    "trackml-15": dict(
        geometry="trackml", stages=(Stage(2, 3), Stage(5, 4), Stage(10, 4), Stage(15, 4)), weight_negative=0.6
    ),
}


def preset(name: str, **overrides) -> TrainConfig:
    """Training settings of a published configuration, with optional overrides."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}.")
    return replace(TrainConfig(**PRESETS[name]), **overrides)
