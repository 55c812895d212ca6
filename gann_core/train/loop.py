"""Hierarchical training of a GANN network, resumable, on CPU, one GPU or several processes.

Run under ``torchrun`` (environment variable ``WORLD_SIZE`` > 1), each process trains on
its share of every epoch's batches inside ``DistributedDataParallel`` (gloo on CPU, NCCL on
CUDA); every process evaluates the same test set, so all take the same promotion decision,
and only process 0 logs and writes files.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from gann_core.errors import ConfigError, InputFileError, ModelFileError
from gann_core.graph import LOG_DZ0_COLUMN, LOG_FLOOR, GraphArrays, build_graphs
from gann_core.infer import score_graph_arrays
from gann_core.loss import balanced_focal_loss
from gann_core.metrics import edge_metrics
from gann_core.model.network import GANN
from gann_core.model.saved import Model, save_atomically
from gann_core.table import Timeslices
from gann_core.train.config import Stage, TrainConfig

logger = logging.getLogger(__name__)


@dataclass
class StageData:
    """Training and test timeslices of one stage with their graph arrays."""

    stage: Stage | None
    train: Timeslices
    test: Timeslices
    train_graphs: GraphArrays
    test_graphs: GraphArrays

    def describe(self) -> str:
        if self.stage is None:
            return "files"
        return f"n_events={self.stage.n_events:g}, max_tracks={self.stage.max_tracks}"


@dataclass
class TrainResult:
    """Training output: the model file, the kept model and the per-epoch history."""

    model_path: Path
    model: Model
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def choose_device(request: str) -> torch.device:
    """CUDA when ``request`` is "auto" and a GPU is present, else the requested device."""
    if request == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if request.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={request!r} was requested but no CUDA GPU is available; use 'cpu' or 'auto'.")
    return torch.device(request)


def simulation_config(config: TrainConfig, stage: Stage):
    """Return the simulation settings of one stage."""
    from gann_core.simulate import SimulationConfig

    return SimulationConfig.for_geometry(
        config.geometry, n_events=float(stage.n_events), max_tracks=int(stage.max_tracks), **config.simulation
    )


def prepare_stages(config: TrainConfig) -> list[StageData]:
    """Simulate (or read and split) the data of every stage and build its graphs."""
    use_time = config.model.use_time
    neighbours = config.model.neighbours
    stages: list[StageData] = []
    if config.train_files:
        from gann_core.io import read_timeslices

        table = read_timeslices(list(config.train_files))
        if not table.has_truth:
            raise InputFileError(
                f"training files {', '.join(config.train_files)} have no event_id column; training needs the true collision of every track."
            )
        if use_time and not table.has_time:
            raise InputFileError("the model uses hit time but the training files have no 't' column; train without --time.")
        n = table.n_timeslices
        if n < 2:
            raise InputFileError(f"training files hold {n} timeslice(s); at least 2 are needed for a train/test split.")
        order = np.random.default_rng(config.seed).permutation(n)
        n_test = config.n_test if n >= config.n_train + config.n_test else max(1, round(n * config.n_test / (config.n_train + config.n_test)))
        n_train = min(config.n_train, n - n_test)
        train = table.select(np.sort(order[:n_train]))
        test = table.select(np.sort(order[n_train : n_train + n_test]))
        stages.append(_stage_data(None, train, test, use_time, neighbours))
        return stages

    from gann_core.simulate import simulate_timeslices

    for index, stage in enumerate(config.stages):
        sim = simulation_config(config, stage)
        if use_time and not sim.simulate_time:
            sim = sim.replace(simulate_time=True)
        train = simulate_timeslices(sim, config.n_train, seed=_derived_seed(config.seed, index, 0))
        test = simulate_timeslices(sim, config.n_test, seed=_derived_seed(config.seed, index, 1))
        stages.append(_stage_data(stage, train, test, use_time, neighbours))
    return stages


def _stage_data(stage, train, test, use_time, neighbours) -> StageData:
    return StageData(
        stage=stage,
        train=train,
        test=test,
        train_graphs=build_graphs(train, use_time=use_time, neighbours=neighbours),
        test_graphs=build_graphs(test, use_time=use_time, neighbours=neighbours),
    )


def _derived_seed(seed: int, stage: int, split: int) -> int:
    return int(np.random.SeedSequence([seed, stage, split]).generate_state(1)[0])


@torch.no_grad()
def score_graphs(network: GANN, graphs: GraphArrays, batch_size: int, device: torch.device) -> np.ndarray:
    """p(same event) for every pair of ``graphs``, with the network in evaluation mode."""
    network.eval()
    return score_graph_arrays(network, graphs, batch_size, device).cpu().numpy()


def train(
    config: TrainConfig,
    output: str | os.PathLike,
    *,
    resume: bool = False,
    progress: bool = False,
    command: str | None = None,
) -> TrainResult:
    """Train a GANN network hierarchically and write the best model to ``output``.

    A checkpoint ``<output>.ckpt`` is written after every epoch; with ``resume=True`` training
    continues from it (same settings required). Returns the kept model and the history.
    """
    config.validate()
    started = time.perf_counter()
    output = Path(output)
    checkpoint_path = output.with_name(output.name + ".ckpt")
    rank, world_size = _init_distributed(config.device)
    device = _process_device(config.device, rank)
    is_main = rank == 0

    torch.manual_seed(config.seed)
    stages = prepare_stages(config)
    network = GANN(replace(config.model, z0_gate_mm=z0_gate(stages[-1].train_graphs, config.z0_gate_factor)))
    network.set_normalization(stages[-1].train_graphs)
    if is_main and network.config.z0_gate_mm > 0:
        logger.info("z0 gate: pairs with |Δz0| > %.3g mm skip the pair classifier", network.config.z0_gate_mm)
    network.to(device)
    trainable = network
    if world_size > 1:
        trainable = torch.nn.parallel.DistributedDataParallel(
            network, device_ids=[device.index] if device.type == "cuda" else None
        )
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate)

    state = {"stage": 0, "epoch_in_stage": 0, "final_epoch": 0, "best": None, "history": []}
    if resume:
        state = _load_checkpoint(checkpoint_path, config, network, optimizer)
        if is_main:
            logger.info("resumed from %s at stage %d, epoch %d", checkpoint_path, state["stage"] + 1, state["epoch_in_stage"])

    rng = np.random.default_rng(_derived_seed(config.seed, 99, world_size))
    while state["stage"] < len(stages):
        index = state["stage"]
        data = stages[index]
        final = index == len(stages) - 1
        epochs = config.final_epochs if final else config.max_epochs_per_stage
        if state["epoch_in_stage"] >= epochs:
            state["stage"] += 1
            state["epoch_in_stage"] = 0
            continue
        epoch = state["epoch_in_stage"]
        if final:
            learning_rate = 0.5 * config.learning_rate * (1 + math.cos(math.pi * epoch / epochs))
        else:
            learning_rate = config.learning_rate
        for group in optimizer.param_groups:
            group["lr"] = learning_rate

        tick = time.perf_counter()
        loss = _train_epoch(trainable, optimizer, data.train_graphs, config, device, rng, rank, world_size, progress and is_main)
        scores = score_graphs(network, data.test_graphs, max(config.batch_size, 64), device)
        metrics = edge_metrics(data.test_graphs.pair_truth, scores, config.threshold)
        record = {
            "stage": index + 1,
            "setting": data.describe(),
            "epoch": epoch + 1,
            "loss": loss,
            "precision": float(metrics["precision"]),
            "recall": float(metrics["recall"]),
            "accuracy": float(metrics["accuracy"]),
            "seconds": time.perf_counter() - tick,
        }
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"training diverged: the loss is {loss} in stage {index + 1}, epoch {epoch + 1}; "
                f"lower the learning rate (now {config.learning_rate}) or check the loss settings. No model was written."
            )
        state["history"].append(record)
        if is_main:
            logger.info(
                "stage %d/%d (%s) epoch %d: loss %.5f  test precision %.4f recall %.4f accuracy %.4f  (%.1f s)",
                index + 1, len(stages), data.describe(), epoch + 1, loss,
                record["precision"], record["recall"], record["accuracy"], record["seconds"],
            )

        state["epoch_in_stage"] += 1
        if final:
            key = (record["accuracy"], -loss)
            if state["best"] is None or key > tuple(state["best"]["key"]):
                state["best"] = {
                    "key": list(key),
                    "epoch": epoch + 1,
                    "metrics": record,
                    "state_dict": {k: v.detach().cpu().clone() for k, v in network.state_dict().items()},
                }
        elif record["accuracy"] >= config.promotion_accuracy:
            if is_main:
                logger.info("test accuracy %.4f ≥ %.2f: moving to the next stage", record["accuracy"], config.promotion_accuracy)
            state["stage"] += 1
            state["epoch_in_stage"] = 0
        if is_main:
            _save_checkpoint(checkpoint_path, config, network, optimizer, state)

    seconds = time.perf_counter() - started
    network.load_state_dict(state["best"]["state_dict"])
    network.eval()
    threshold = config.threshold
    if config.tune_threshold != "off":
        final = stages[-1]
        scores = score_graphs(network, final.test_graphs, max(config.batch_size, 64), device)
        if config.tune_threshold == "accuracy":
            threshold = accuracy_threshold(final.test_graphs.pair_truth, scores)
        else:
            threshold, figures = beat_baselines_threshold(final, scores, config.threshold)
            if is_main:
                rows = {"network": figures["network"], **figures["baselines"]}
                logger.info(
                    "edge precision / recall / accuracy on the last stage's test timeslices at %.3f: %s",
                    threshold,
                    "; ".join(f"{name} {row['precision']:.4f} / {row['recall']:.4f} / {row['accuracy']:.4f}" for name, row in rows.items()),
                )
        if is_main:
            logger.info("threshold tuned (%s) on the last stage's test timeslices: %.3f", config.tune_threshold, threshold)
    model = _finished_model(config, network.cpu(), stages[-1], state, seconds, command, threshold)
    if is_main:
        model.save(output)
        logger.info("wrote %s (best final-stage epoch %d)", output, state["best"]["epoch"])
    if world_size > 1:
        dist.barrier()
    return TrainResult(model_path=output, model=model, history=state["history"], seconds=seconds)


def _train_epoch(trainable, optimizer, graphs: GraphArrays, config, device, rng, rank, world_size, progress) -> float:
    trainable.train()
    n_batches = math.ceil(graphs.n_timeslices / config.batch_size)
    order = rng.permutation(n_batches)
    per_rank = n_batches // world_size if world_size > 1 else n_batches
    order = order[rank * per_rank : (rank + 1) * per_rank]
    batches = graphs.batches(config.batch_size, order)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, total=len(order), leave=False, unit="batch", desc="training")
    # The loss sum stays on the device, so a GPU step does not wait for the host.
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    for data in batches:
        data = data.to(device)
        logits = trainable(data)
        loss = balanced_focal_loss(
            logits, data.y,
            weight_positive=config.weight_positive, weight_negative=config.weight_negative, gamma=config.gamma,
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach().double() * len(logits)
        count += len(logits)
    if world_size > 1:
        # Each process saw only its share of the batches. The epoch loss breaks ties in the
        # choice of the best epoch, so every process takes the same value, the mean over the
        # pairs of all processes.
        totals = torch.stack([total, torch.tensor(float(count), dtype=torch.float64, device=device)])
        dist.all_reduce(totals)
        total, count = totals[0], int(totals[1])
    return float(total) / max(count, 1)


def z0_gate(graphs: GraphArrays, factor: float) -> float:
    """z0 gate in mm: ``factor`` × the 99.9 % quantile of |Δz0| over the true pairs of ``graphs``.

    Returns 0 (no gate) when ``factor`` is 0 or there are no true pairs.
    """
    if factor <= 0 or graphs.pair_truth is None or not graphs.pair_truth.any():
        return 0.0
    dz0 = np.exp(graphs.pair_x[graphs.pair_truth, LOG_DZ0_COLUMN].astype(np.float64)) - LOG_FLOOR
    return float(factor * np.quantile(dz0, 0.999))


def accuracy_threshold(truth: np.ndarray, scores: np.ndarray) -> float:
    """Threshold in [0.05, 0.95] that maximises pair accuracy (TP + TN) / all for these scores.

    Pairs are sorted by score; cutting after the k highest scores gives TP = true pairs among
    them and TN = false pairs below. The threshold sits halfway between the scores on both
    sides of the best cut.
    """
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    true_above = np.concatenate([[0], np.cumsum(truth[order])])
    k = np.arange(len(scores) + 1)
    correct = true_above + (len(scores) - int(truth.sum())) - (k - true_above)
    upper = np.concatenate([[1.0], sorted_scores])
    lower = np.concatenate([sorted_scores, [0.0]])
    allowed = (upper > 0.05) & (lower < 0.95)
    best = int(np.argmax(np.where(allowed, correct, -1)))
    return float(np.clip((upper[best] + lower[best]) / 2, 0.05, 0.95))


def beat_baselines_threshold(final: StageData, scores: np.ndarray, threshold: float) -> tuple[float, dict]:
    """Threshold at which the network beats every classical baseline on edge P, R and A.

    The baselines are calibrated on ``final.train`` and scored on ``final.test``; ``scores``
    are the network's scores of ``final.test_graphs``. Every figure is compared at one
    shared threshold, as :func:`gann_core.evaluation.evaluate` does. ``threshold`` is kept
    when the network already beats every baseline there. Otherwise the grid ``threshold +
    0.005, …, 0.95`` is searched for thresholds where it does. Of those, the one whose
    smaller margin (network − best baseline, of precision and recall) is largest is
    returned, so that neither figure wins by a hair. When there is none, ``threshold`` is
    returned. Returns the threshold and the
    figures there (``network`` and ``baselines``: name → precision, recall, accuracy).
    """
    from gann_core.baselines import baseline_scores, calibrate_baselines
    from gann_core.pairs import TrackPairs

    truth = final.test_graphs.pair_truth
    pairs = TrackPairs(final.test_graphs.pair_a, final.test_graphs.pair_b)
    classical = baseline_scores(final.test, pairs, calibrate_baselines(final.train))
    figures = ("precision", "recall", "accuracy")

    def compare(value: float) -> tuple[bool, float, dict]:
        network = {key: float(edge_metrics(truth, scores, value)[key]) for key in figures}
        baselines = {
            name: {key: float(number) for key, number in edge_metrics(truth, values, value).items() if key in figures}
            for name, values in classical.items()
        }
        best = {key: max(row[key] for row in baselines.values()) for key in figures}
        beats = all(network[key] >= best[key] for key in figures)
        margin = min(network["precision"] - best["precision"], network["recall"] - best["recall"])
        return beats, margin, {"threshold": value, "network": network, "baselines": baselines}

    beats, _, report = compare(threshold)
    if beats:
        return threshold, report
    chosen = None
    for value in np.arange(threshold + 0.005, 0.95 + 1e-9, 0.005):
        beats, margin, candidate = compare(round(float(value), 4))
        if beats and (chosen is None or margin > chosen[0]):
            chosen = (margin, candidate)
    if chosen is None:
        logger.warning(
            "beat-baselines: the network does not beat every classical baseline on edge precision, recall and "
            "accuracy at any threshold from %g to 0.95 on the last stage's test timeslices, so the threshold stays %g; "
            "train longer or on more timeslices, and compare with 'gann evaluate'.", threshold, threshold,
        )
        return threshold, report
    return chosen[1]["threshold"], chosen[1]


def _finished_model(
    config: TrainConfig, network: GANN, final: StageData, state: dict, seconds: float, command, threshold: float
) -> Model:
    from gann_core.baselines import calibrate_baselines

    calibration = calibrate_baselines(final.train)
    metadata = {
        "name": "gann",
        "training_command": command,
        "train_config": config.to_dict(),
        "final_stage": final.describe(),
        "best_epoch": state["best"]["epoch"],
        "test_metrics": state["best"]["metrics"],
        "history": state["history"],
        "training_seconds": round(seconds, 1),
        "hardware": _hardware(),
        "versions": _versions(),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if not config.train_files:
        metadata["simulation"] = asdict(simulation_config(config, config.stages[-1]))
    # A tuned threshold serves the pair decision; the assembly keeps the configured one.
    return Model(
        network=network,
        threshold=threshold,
        assembly_threshold=config.threshold,
        assembly=config.assembly,
        baselines=calibration.to_dict(),
        metadata=metadata,
    )


def _save_checkpoint(path: Path, config, network, optimizer, state) -> None:
    content = {
        "format": "gann-checkpoint",
        "config": config.to_dict(),
        "network": network.state_dict(),
        "optimizer": optimizer.state_dict(),
        "state": state,
    }
    save_atomically(content, path)


def _load_checkpoint(path: Path, config, network, optimizer) -> dict:
    if not path.is_file():
        raise ModelFileError(f"cannot resume: checkpoint {path} not found; start without --resume.")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any failure to read means the file is unusable
        raise ModelFileError(f"cannot resume: {path} is not a readable checkpoint ({error}).") from None
    if not isinstance(content, dict) or content.get("format") != "gann-checkpoint":
        raise ModelFileError(f"cannot resume: {path} is not a GANN training checkpoint.")
    if content["config"] != config.to_dict():
        raise ConfigError(
            f"cannot resume from {path}: it was written with other training settings; use the same settings or start without --resume."
        )
    network.load_state_dict(content["network"])
    optimizer.load_state_dict(content["optimizer"])
    return content["state"]


def _init_distributed(device_request: str) -> tuple[int, int]:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return 0, 1
    if not dist.is_initialized():
        use_cuda = device_request != "cpu" and torch.cuda.is_available()
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _process_device(request: str, rank: int) -> torch.device:
    device = choose_device(request)
    if device.type == "cuda" and dist.is_initialized():
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    return device


def _hardware() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, {os.cpu_count()} CPU cores"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}"


def _versions() -> dict:
    import numpy
    import torch_geometric

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "numpy": numpy.__version__,
    }


__all__ = ["StageData", "TrainResult", "choose_device", "prepare_stages", "score_graphs", "train"]
