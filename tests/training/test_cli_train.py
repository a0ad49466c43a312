"""``train`` subcommand: one line per epoch, final metrics, exit codes; tf.distribute paths."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from playground.cli import main
from playground.core import fileformat
from tests.training.helpers import tiny

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def graph_file(tmp_path):
    path = tmp_path / "tiny.json"
    fileformat.save(tiny(), path)
    return str(path)


def test_train_prints_one_line_per_epoch_and_final_metrics(graph_file, tmp_path, capsys):
    # In a thread here (tests/conftest.py); the child process is exercised by the SIGTERM, kill
    # and closed-stdout tests of tests/reliability/test_process_faults.py.
    code = main(["train", graph_file, "--dataset", "digits", "--epochs", "2", "--batch-size",
                 "64", "--lr", "0.01", "--run-dir", str(tmp_path / "run"),
                 "--save", str(tmp_path / "m.keras")])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 3
    assert re.match(r"epoch 1/2: loss \d\.\d{4} accuracy \d\.\d{4} val_loss \d\.\d{4} "
                    r"val_accuracy \d\.\d{4} lr 0\.01 \(\d+\.\d s\)$", lines[0])
    assert lines[1].startswith("epoch 2/2:")
    assert re.match(r"final \(finished\): loss .* validation_accuracy \d\.\d{4}$", lines[2])
    assert (tmp_path / "m.keras").is_file()
    assert (tmp_path / "run" / "history.csv").read_text().count("\n") == 3
    assert "device: CPU" in err


@pytest.mark.parametrize("args, code, message", [
    (["--dataset", "nowhere"], 2, "--dataset 'nowhere': not found"),
    (["--optimizer", "lbfgs"], 2, "invalid choice"),
    (["--lr", "0"], 2, "lr = 0.0: must be > 0"),
    (["--augment", "twirl"], 2, "unknown augmentation 'twirl'"),
    (["--freeze", "conv,ghost", "--no-run"], 1, "no node 'ghost'"),
    (["--resume"], 2, "--resume needs --run-dir"),
])
def test_bad_arguments_exit_with_a_message(graph_file, capsys, args, code, message):
    with pytest.raises(SystemExit) if code == 2 and "choice" in message else _nullcontext():
        rc = main(["train", graph_file, "--epochs", "1", *args])
        assert rc == code
    assert message in capsys.readouterr().err


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_unreadable_graph_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["train", str(bad), "--dataset", "digits"]) == 2


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


MIRRORED = """
import sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from playground.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_mirrored_strategy_on_two_logical_cpus(graph_file, tmp_path):
    proc = subprocess.run([sys.executable, "-c", MIRRORED, "train", graph_file, "--dataset",
                           "digits", "--epochs", "1", "--batch-size", "64", "--lr", "0.01",
                           "--strategy", "mirrored", "--no-run"],
                          capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "MirroredStrategy with 2 replica(s)" in proc.stderr
    assert re.search(r"^epoch 1/1: loss \d", proc.stdout, re.M)
    assert "final (finished)" in proc.stdout


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow
def test_multiworker_strategy_with_two_local_workers(graph_file, tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = _env()
        env["TF_CONFIG"] = json.dumps({"cluster": cluster,
                                       "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "train", graph_file, "--dataset", "digits",
             "--epochs", "1", "--batch-size", "64", "--lr", "0.01", "--strategy",
             "multiworker", "--no-run", "--save", str(tmp_path / f"w{index}.keras")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT))
    deadline = time.time() + 300
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=max(1, deadline - time.time()))
        outs.append((proc.returncode, out, err))
    for code, out, err in outs:
        assert code == 0, err[-3000:]
        assert "CollectiveAllReduceStrategy with 2 replica(s)" in err  # = MultiWorkerMirrored
        assert "epoch 1/1:" in out
    # Both workers report the same global metrics (wall times aside); only the chief writes files.
    def metrics(out: str) -> str:
        return re.sub(r"\(\d+(\.\d+)? s\)", "(time)", out)

    assert metrics(outs[0][1]) == metrics(outs[1][1])
    assert (tmp_path / "w0.keras").is_file() and not (tmp_path / "w1.keras").exists()


def test_a_scanned_dataset_travels_with_the_job_only_when_small(monkeypatch):
    """A folder's file list goes to the training process with the job (not scanned twice); a
    big in-memory set, or anything that cannot be pickled, is read again there."""
    import numpy as np

    from playground.cli import train as train_cmd
    from playground.data.base import Dataset

    data = Dataset("set", np.zeros((4, 8, 8, 1), np.uint8), np.zeros(4, np.int64), ["a"])
    assert train_cmd._dataset_for_job(data) is data
    assert train_cmd._dataset_for_job(None) is None
    assert train_cmd._dataset_for_job(lambda: None) is None
    monkeypatch.setattr(train_cmd, "DATASET_JOB_BYTES", 100)
    assert train_cmd._dataset_for_job(data) is None
