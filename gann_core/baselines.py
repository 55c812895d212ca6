"""Classical pair scorers: p(same event) from the geometry of two fitted helices.

Each baseline is a logistic regression on a few logarithmic pair features, calibrated once on
a table with truth (:func:`calibrate_baselines`) and then applied like any other pair scorer
(:func:`baseline_scores`). Combined with an assembly method of :mod:`gann_core.assembly` they
give the classical reference methods that every evaluation shows beside the network:

* "z0 gap": the ``"z0"`` score with ``"components"`` assembly. The score falls with |Δz0|, so
  connected components of the pairs above threshold are single linkage on z0, and single
  linkage in one dimension is splitting the sorted z0 at gaps (:func:`z0_gap_labels` is
  the literal method). The two agree exactly when the score depends on |Δz0| alone; the
  calibrated score also uses the significance |Δz0| / σ, so tracks with unusual σ(z0) may
  differ.
* "z0 linkage": the ``"z0"`` score with ``"average"`` assembly.
* "helix crossing": the ``"crossing"`` score with the default assembly. It compares the two
  helices where their transverse circles cross, so it keeps working when collision vertices
  are spread transversely and z0 (taken at the beam line) no longer matches between tracks
  of one collision.

Features, each z-scored with the mean and standard deviation of the calibration pairs:

* ``"z0"``: log(dz0 + 1e-3), log(dz0_significance + 1e-3);
* ``"crossing"``: log(dz_cross + 1e-3), log(dz_cross_significance + 1e-3),
  log(r_cross + 1e-3), log(circle_gap + 1e-3).

The model is p = σ(b + Σ_k w_k x_k) with the logistic function σ, fitted by Newton's method
(iteratively reweighted least squares) on the mean log loss plus (λ/2) Σ_k w_k², without
penalising b. Lengths are in mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.special

from gann_core.assembly import first_appearance_labels
from gann_core.errors import ConfigError, ModelFileError
from gann_core.fit import TrackFit, fit_tracks
from gann_core.pairs import PairGeometry, TrackPairs, all_pairs, pair_geometry, same_event
from gann_core.table import Timeslices

BASELINES = ("z0", "crossing")

#: Pair geometry attributes whose logarithms are each baseline's features.
BASELINE_FEATURES = {
    "z0": ("dz0", "dz0_significance"),
    "crossing": ("dz_cross", "dz_cross_significance", "r_cross", "circle_gap"),
}

#: Added inside the logarithm so that a zero distance gives a finite feature.
LOG_OFFSET = 1e-3

#: Default λ of the L2 penalty on the feature weights (the features are z-scored).
L2_PENALTY = 1e-4

CALIBRATION_FORMAT_VERSION = 1


@dataclass(frozen=True)
class PairLogisticModel:
    """Logistic regression p = σ(intercept + Σ_k weights_k (log(g_k + 1e-3) − mean_k) / std_k).

    ``features`` names the :class:`~gann_core.pairs.PairGeometry` attributes g_k. All numbers
    are plain floats so that the model can be stored as a dict.
    """

    features: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float

    def predict(self, geometry: PairGeometry) -> np.ndarray:
        """p(same event) of every pair of ``geometry``."""
        matrix = _log_features(geometry, self.features)
        standardised = (matrix - np.asarray(self.mean)) / np.asarray(self.std)
        return scipy.special.expit(self.intercept + standardised @ np.asarray(self.weights))

    def to_dict(self) -> dict:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "std": list(self.std),
            "weights": list(self.weights),
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, values: dict) -> "PairLogisticModel":
        features = tuple(str(name) for name in values["features"])
        model = cls(
            features=features,
            mean=tuple(float(v) for v in values["mean"]),
            std=tuple(float(v) for v in values["std"]),
            weights=tuple(float(v) for v in values["weights"]),
            intercept=float(values["intercept"]),
        )
        if not (len(model.mean) == len(model.std) == len(model.weights) == len(features)):
            raise ValueError(f"features, mean, std and weights must have equal lengths ({len(features)} features).")
        return model


@dataclass(frozen=True)
class BaselineCalibration:
    """Calibrated baseline scorers and a description of the data they were calibrated on.

    ``models`` maps each name of :data:`BASELINES` to its :class:`PairLogisticModel`.
    ``data`` contains counts of the calibration table (timeslices, tracks, events, pairs,
    fraction of true pairs), the L2 penalty and each baseline's pair accuracy at p > 0.5 on
    the calibration pairs.
    """

    models: dict[str, PairLogisticModel]
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain dict (str, float, int, list) for storing inside a model file."""
        return {
            "format_version": CALIBRATION_FORMAT_VERSION,
            "models": {name: model.to_dict() for name, model in self.models.items()},
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, values: dict) -> "BaselineCalibration":
        """Rebuild a calibration from :meth:`to_dict` output; raises ModelFileError when malformed."""
        version = values.get("format_version") if isinstance(values, dict) else None
        if version != CALIBRATION_FORMAT_VERSION:
            raise ModelFileError(
                f"baseline calibration has format_version {version!r}, expected {CALIBRATION_FORMAT_VERSION}; "
                "recalibrate with calibrate_baselines()."
            )
        missing = [name for name in BASELINES if name not in values.get("models", {})]
        if missing:
            raise ModelFileError(f"baseline calibration lacks the model(s) {', '.join(missing)}; recalibrate.")
        try:
            models = {name: PairLogisticModel.from_dict(model) for name, model in values["models"].items()}
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"baseline calibration is malformed ({error!r}); recalibrate.") from error
        return cls(models=models, data=dict(values.get("data", {})))


def calibrate_baselines(
    table: Timeslices, *, fit: TrackFit | None = None, l2_penalty: float = L2_PENALTY
) -> BaselineCalibration:
    """Fit every baseline's logistic regression on all track pairs of ``table``.

    The table needs ``event_id``. ``fit`` may pass a :func:`~gann_core.fit.fit_tracks` result
    of the same table to avoid refitting.
    """
    if not table.has_truth:
        raise ConfigError("calibrating the baselines needs a table with event_id (truth); got none.")
    if fit is None:
        fit = fit_tracks(table)
    pairs = all_pairs(table)
    truth = same_event(table, pairs)
    if len(pairs) == 0 or truth.all() or not truth.any():
        raise ConfigError(
            f"calibrating the baselines needs both true and false pairs; the table has {len(pairs)} pairs "
            f"of which {int(truth.sum())} are true. Use timeslices with several collisions."
        )
    geometry = pair_geometry(fit, pairs)

    models = {}
    accuracy = {}
    for name in BASELINES:
        models[name] = _fit_logistic(geometry, BASELINE_FEATURES[name], truth, l2_penalty)
        accuracy[name] = float(np.mean((models[name].predict(geometry) > 0.5) == truth))

    summary = table.summary()
    summary.pop("columns", None)
    data = {
        **summary,
        "pairs": int(len(pairs)),
        "true_pair_fraction": float(truth.mean()),
        "l2_penalty": float(l2_penalty),
        "pair_accuracy": accuracy,
    }
    return BaselineCalibration(models=models, data=data)


def baseline_scores(
    table: Timeslices,
    pairs: TrackPairs,
    calibration: BaselineCalibration,
    *,
    fit: TrackFit | None = None,
    geometry: PairGeometry | None = None,
) -> dict[str, np.ndarray]:
    """p(same event) of every pair under each baseline, keyed by the names in :data:`BASELINES`.

    ``fit`` and ``geometry`` may pass results already computed for this table and these pairs.
    """
    if geometry is None:
        if fit is None:
            fit = fit_tracks(table)
        geometry = pair_geometry(fit, pairs)
    return {name: calibration.models[name].predict(geometry) for name in BASELINES}


def z0_gap_labels(table: Timeslices, gap_mm: float, fit: TrackFit | None = None) -> np.ndarray:
    """Label tracks by splitting each timeslice's sorted z0 wherever two neighbours differ by more than ``gap_mm``.

    Labels follow the convention of :func:`~gann_core.assembly.assemble_events`: 0..k−1
    within each timeslice, numbered by first appearance in track order.
    """
    if not (np.isfinite(gap_mm) and gap_mm >= 0):
        raise ConfigError(f"gap_mm must be a finite length >= 0 in mm, got {gap_mm!r}.")
    if fit is None:
        fit = fit_tracks(table)
    n_tracks = table.n_tracks
    if n_tracks == 0:
        return np.zeros(0, dtype=np.int64)

    track_slice = table.track_timeslice_index
    order = np.lexsort((fit.z0, track_slice))
    sorted_z0 = fit.z0[order]
    sorted_slice = track_slice[order]

    new_group = np.ones(n_tracks, dtype=bool)
    new_group[1:] = (sorted_slice[1:] != sorted_slice[:-1]) | (np.diff(sorted_z0) > gap_mm)
    groups = np.empty(n_tracks, dtype=np.int64)
    groups[order] = np.cumsum(new_group)
    return first_appearance_labels(table.slice_track_offsets, groups)


def _log_features(geometry: PairGeometry, names: tuple[str, ...]) -> np.ndarray:
    """(n_pairs, n_features) matrix of log(g + 1e-3) for the named geometry attributes."""
    return np.stack([np.log(np.asarray(getattr(geometry, name), dtype=np.float64) + LOG_OFFSET) for name in names], axis=1)


def _fit_logistic(
    geometry: PairGeometry, names: tuple[str, ...], truth: np.ndarray, l2_penalty: float,
    *, max_iterations: int = 50, tolerance: float = 1e-10,
) -> PairLogisticModel:
    """Penalised logistic regression by Newton's method with step halving."""
    raw = _log_features(geometry, names)
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    design = np.hstack([np.ones((len(raw), 1)), (raw - mean) / std])
    target = truth.astype(np.float64)
    n_pairs, n_params = design.shape
    penalty = np.full(n_params, l2_penalty)
    penalty[0] = 0.0

    def objective(beta):
        logits = design @ beta
        # Mean log loss: log(1 + e^z) − y z, computed without overflow.
        return np.mean(np.logaddexp(0.0, logits) - target * logits) + 0.5 * np.sum(penalty * beta**2)

    beta = np.zeros(n_params)
    beta[0] = scipy.special.logit(np.clip(target.mean(), 1e-6, 1 - 1e-6))
    loss = objective(beta)
    for _ in range(max_iterations):
        p = scipy.special.expit(design @ beta)
        gradient = design.T @ (p - target) / n_pairs + penalty * beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design / n_pairs + np.diag(penalty)
        hessian += np.eye(n_params) * 1e-12
        step = np.linalg.solve(hessian, gradient)

        # Step halving keeps every iteration downhill, which plain Newton does not promise
        # far from the optimum on nearly separable pairs.
        scale = 1.0
        while scale > 1e-6:
            candidate = beta - scale * step
            candidate_loss = objective(candidate)
            if candidate_loss <= loss:
                break
            scale /= 2
        else:
            break
        improvement = loss - candidate_loss
        beta, loss = candidate, candidate_loss
        if improvement < tolerance:
            break

    return PairLogisticModel(
        features=tuple(names),
        mean=tuple(float(v) for v in mean),
        std=tuple(float(v) for v in std),
        weights=tuple(float(v) for v in beta[1:]),
        intercept=float(beta[0]),
    )
