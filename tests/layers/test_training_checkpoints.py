"""theanets training checkpoints: save/load round trips, bitwise resume, SIGKILL mid-write, Ctrl-C, NaN."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from graphc import theanets
from graphc.theanets._checkpoint import is_checkpoint
from graphc.theanets.trainer import Trainer

SETUP = """
import numpy as np
from graphc import theanets
rng = np.random.RandomState(0)
X = rng.randn(128, 3).astype("f")
Y = (X @ rng.randn(3, 2)).astype("f")
KW = dict(algo="adam", learning_rate=0.01, batch_size=16, train_batches=3, validate_every=2, progress=False)
"""
namespace: dict = {}
exec(SETUP, namespace)  # the same data and options in this process and in the subprocess
X, Y, KW = namespace["X"], namespace["Y"], namespace["KW"]


def _net():
    return theanets.Regressor([3, 5, 2])


def _values(net):
    return [p.get_value() for p in net.params]


def _assert_bitwise(a, b):
    for p, q in zip(a, b):
        assert p.dtype == q.dtype and np.array_equal(p, q)


@pytest.fixture(scope="module")
def uninterrupted():
    net = _net()
    net.train([X, Y], max_updates=7, **KW)
    return _values(net)


def test_save_load_round_trip_trains_on_identically(tmp_path):
    """A saved and reloaded network trains exactly like the one that was saved (a new train call, new state)."""
    a = _net()
    a.train([X, Y], max_updates=3, **KW)
    a.save(tmp_path / "a.npz")
    b = theanets.Regressor.load(tmp_path / "a.npz")
    _assert_bitwise(_values(a), _values(b))
    a.train([X, Y], max_updates=3, **KW)
    b.train([X, Y], max_updates=3, **KW)
    _assert_bitwise(_values(a), _values(b))


@pytest.mark.parametrize("algo", ["adam", "rmsprop", "nag"])
def test_resume_from_a_checkpoint_is_bitwise_the_uninterrupted_run(tmp_path, algo):
    kw = dict(KW, algo=algo, momentum=0.5) if algo == "nag" else dict(KW, algo=algo)
    whole = _net()
    whole_trainer_log = list(whole.itertrain([X, Y], max_updates=7, **kw))
    ck = tmp_path / "ck.npz"
    first = _net()
    list(first.itertrain([X, Y], max_updates=4, checkpoint=ck, **kw))
    assert is_checkpoint(ck)
    second = _net()  # fresh initial values: everything comes from the checkpoint
    second_log = list(second.itertrain([X, Y], max_updates=7, checkpoint=ck, resume=True, **kw))
    assert len(second_log) == 3
    assert second_log == whole_trainer_log[4:]  # the same monitors, iteration by iteration
    _assert_bitwise(_values(whole), _values(second))


def test_checkpoint_is_a_model_file_and_state_is_complete(tmp_path):
    ck = tmp_path / "ck.npz"
    net = _net()
    trainer = Trainer(net, "adam", learning_rate=0.01, checkpoint=ck, progress=False)
    trainer.train([X, Y])
    assert sorted(v.name for v in trainer.state_variables) == sorted(
        [f"{p.name}.{role}" for p in net.params for role in ("m", "v")] + ["adam.t"]
    )
    loaded = theanets.Network.load(ck)
    assert type(loaded) is theanets.Regressor and loaded.num_params == net.num_params
    # a checkpoint for another algorithm or network is refused, and nothing changes
    other = Trainer(_net(), "sgd", progress=False)
    before = _values(other.network)
    with pytest.raises(ValueError, match="written by a 'adam' trainer; this trainer runs 'sgd'"):
        other.load_checkpoint(ck)
    bigger = Trainer(theanets.Regressor([3, 6, 2]), "adam", progress=False)
    with pytest.raises(ValueError, match="shape"):
        bigger.load_checkpoint(ck)
    _assert_bitwise(before, _values(other.network))
    net.save(tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="not a graphc training checkpoint"):
        Trainer(_net(), "adam", progress=False).load_checkpoint(tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        Trainer(_net(), "adam", resume=True)


def test_resume_without_a_file_starts_from_scratch(tmp_path, uninterrupted):
    net = _net()
    net.train([X, Y], max_updates=7, checkpoint=tmp_path / "new.npz", resume=True, **KW)
    _assert_bitwise(uninterrupted, _values(net))
    assert is_checkpoint(tmp_path / "new.npz")


KILLER = """
import os, sys, time
real_fsync = os.fsync
calls = 0

def fsync_then_hang(fd):
    global calls
    calls += 1
    real_fsync(fd)
    if calls == int(sys.argv[2]):  # the temporary file of this checkpoint is written: hang before the rename
        print("in-checkpoint", flush=True)
        time.sleep(120)

os.fsync = fsync_then_hang
net = theanets.Regressor([3, 5, 2])
net.train([X, Y], max_updates=7, checkpoint=sys.argv[1], **KW)
print("finished", flush=True)
"""


def test_sigkill_during_a_checkpoint_leaves_the_previous_one_intact(tmp_path, uninterrupted):
    ck = tmp_path / "ck.npz"
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SETUP) + KILLER)
    # every checkpoint fsyncs its temporary file, then the folder: call 7 is the 4th checkpoint's file
    proc = subprocess.Popen([sys.executable, str(script), str(ck), "7"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "in-checkpoint", line
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    # the file holds the 3rd checkpoint, whole; the half-done one is a leftover temporary file
    assert is_checkpoint(ck)
    assert any(name.startswith(".ck.npz.") for name in os.listdir(tmp_path))
    trainer = Trainer(_net(), **KW)
    trainer.load_checkpoint(ck)
    assert trainer.iterations == 3
    # resuming from it ends exactly where the uninterrupted run ends
    net = _net()
    net.train([X, Y], max_updates=7, checkpoint=ck, resume=True, **KW)
    _assert_bitwise(uninterrupted, _values(net))


def test_ctrl_c_keeps_the_last_checkpoint_and_says_where_it_is(tmp_path, caplog):
    ck = tmp_path / "ck.npz"
    calls = {"n": 0}

    def batches():
        calls["n"] += 1
        if calls["n"] == 8:  # in the 3rd iteration (3 batches each)
            raise KeyboardInterrupt
        i = (calls["n"] * 16) % 128
        return [X[i : i + 16], Y[i : i + 16]]

    net = _net()
    with caplog.at_level(logging.WARNING, logger="graphc.training"):
        trainer = Trainer(net, checkpoint=ck, **KW)
        trainer.train(batches, valid=[X, Y])
    assert trainer.stop_reason == "interrupted"
    assert f"the last checkpoint, {ck}, holds iteration 2" in caplog.text
    assert is_checkpoint(ck)


def test_a_non_finite_loss_stops_and_puts_the_good_parameters_back(caplog):
    calls = {"n": 0}

    def batches():
        calls["n"] += 1
        x = X[:16].copy()
        if calls["n"] == 7:  # the 3rd iteration sees an infinite input
            x[0, 0] = np.inf
        return [x, Y[:16]]

    net = _net()
    trainer = Trainer(net, **dict(KW, validate_every=100))
    seen = []
    with caplog.at_level(logging.ERROR, logger="graphc.training"):
        for _ in trainer.itertrain(batches, valid=[X, Y]):
            seen.append(_values(net))
    assert trainer.stop_reason == "non-finite loss" and len(seen) == 2
    assert "non-finite monitor values" in caplog.text
    assert all(np.isfinite(v).all() for v in _values(net))
    # with the option off, training goes on with NaN parameters
    calls["n"] = 0
    net = _net()
    trainer = Trainer(net, stop_on_nonfinite=False, max_updates=4, **dict(KW, validate_every=100))
    seen = [_values(net) for _ in trainer.itertrain(batches, valid=[X, Y])]
    assert len(seen) == 4 and not all(np.isfinite(v).all() for v in seen[-1])
