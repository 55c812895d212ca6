"""Training under torchrun with two CPU processes (gloo on 127.0.0.1): one model, equal weights."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

from gann_core.model.saved import Model

#: Each process writes its final weights and history next to the model, so the test can
#: compare the two processes.
WORKER = textwrap.dedent(
    """
    import json, os, sys
    import torch
    from gann_core.model.network import ModelConfig
    from gann_core.train.config import Stage, TrainConfig
    from gann_core.train.loop import train

    folder = sys.argv[1]
    config = TrainConfig(
        stages=(Stage(3, 3),), n_train=24, n_test=8, final_epochs=2, batch_size=4, device="cpu", seed=3,
        model=ModelConfig(gat_hidden=8, heads=2, track_hidden=8, classifier_hidden=8),
    )
    result = train(config, os.path.join(folder, "model.pt"))
    rank = os.environ["RANK"]
    torch.save(result.model.network.state_dict(), os.path.join(folder, f"weights_rank{rank}.pt"))
    with open(os.path.join(folder, f"history_rank{rank}.json"), "w") as handle:
        json.dump(result.history, handle)
    """
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("this torch build has no gloo backend for torch.distributed")
    folder = tmp_path_factory.mktemp("ddp")
    script = folder / "worker.py"
    script.write_text(WORKER)
    output = folder / "out"
    output.mkdir()
    command = [
        sys.executable, "-m", "torch.distributed.run",
        "--nnodes=1", "--nproc_per_node=2",
        "--master_addr=127.0.0.1", f"--master_port={_free_port()}",
        str(script), str(output),
    ]
    environment = dict(os.environ, OMP_NUM_THREADS="1")
    # A session of its own lets the test stop torchrun and both workers together on timeout.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment, start_new_session=True)
    try:
        log, _ = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        log, _ = process.communicate()
        pytest.fail(f"torchrun did not finish within 240 s:\n{log[-3000:]}")
    assert process.returncode == 0, f"torchrun exited with {process.returncode}:\n{log[-3000:]}"
    return output


def test_ddp_writes_one_model(ddp_run):
    models = sorted(path.name for path in ddp_run.iterdir() if path.suffix == ".pt" and not path.name.startswith("weights_"))
    assert models == ["model.pt"]
    assert Model.load(ddp_run / "model.pt").network is not None


def test_ddp_processes_keep_identical_weights(ddp_run):
    rank0 = torch.load(ddp_run / "weights_rank0.pt")
    rank1 = torch.load(ddp_run / "weights_rank1.pt")
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name


def test_ddp_model_file_holds_the_trained_weights(ddp_run):
    saved = Model.load(ddp_run / "model.pt").network.state_dict()
    rank0 = torch.load(ddp_run / "weights_rank0.pt")
    for name in rank0:
        assert torch.equal(saved[name], rank0[name]), name


def test_ddp_processes_report_the_same_epoch_loss(ddp_run):
    history0 = json.loads((ddp_run / "history_rank0.json").read_text())
    history1 = json.loads((ddp_run / "history_rank1.json").read_text())
    assert len(history0) == 2
    assert [record["loss"] for record in history0] == [record["loss"] for record in history1]
