"""Hostile training checkpoints and non-finite training steps (issue 14).

A bad checkpoint gives one clear ``ValueError`` naming the file and the field, never a crash
(an out-of-range generator position used to kill the process with SIGSEGV on ``resume=True``),
and a failed load leaves the network's parameters, the optimizer state and the trainer's
counters bitwise as they were.  A non-finite gradient is caught in the step that produced it,
no file is ever written with non-finite values, and the file written when training ends holds
the best parameters that ``restore_best`` put in the network.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hostile_files import description, read, with_training, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphc import theanets
from graphc.theanets._checkpoint import TRAINING_KEY, is_checkpoint
from graphc.theanets.trainer import Trainer

RNG = np.random.RandomState(0)
X = RNG.randn(64, 3).astype("f")
Y = (X @ RNG.randn(3, 2)).astype("f")
KW = dict(algo="adam", learning_rate=0.01, batch_size=16, validate_every=2, progress=False)


def _net():
    return theanets.Regressor([3, (5, "tanh"), 2])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A checkpoint taken after 3 iterations: (path, its arrays)."""
    path = tmp_path_factory.mktemp("ck") / "ck.npz"
    _net().train([X, Y], max_updates=3, checkpoint=path, **KW)
    return path, read(path)


def _state(trainer):
    """Everything a checkpoint load may change, copied."""
    values = [v.get_value() for v in (*trainer.params, *trainer.state_variables)]
    counters = (trainer.iterations, trainer.updates, trainer.validations, trainer._best_validation, trainer.best_iteration)
    return values, counters, trainer.best_loss, dict(trainer.last_validation), [b.copy() for b in trainer.best_params], trainer.rng.get_state()


def _assert_unchanged(before, after):
    for a, b in zip(before[0] + before[4], after[0] + after[4]):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert before[1:4] == after[1:4]
    assert before[5][0] == after[5][0] and np.array_equal(before[5][1], after[5][1]) and before[5][2:] == after[5][2:]


def _trainer():
    """A trainer with its own, non-initial state (one iteration trained), so a change would show."""
    trainer = Trainer(_net(), max_updates=1, **KW)
    trainer.train([X, Y])
    trainer.iterations, trainer.best_loss, trainer.last_validation = 11, 0.5, {"loss": 0.5, "err": 0.5}
    return trainer


def _set(key, value):
    def change(d):
        d[key] = value

    return change


def _rng(key, value):
    def change(d):
        d["rng"][key] = value

    return change


BAD_FIELDS = {
    "rng-pos-huge": (_rng("pos", 10**6), r"'rng.pos' must be an int in \[0, 624\], got 1000000"),
    "rng-pos-negative": (_rng("pos", -1), r"'rng.pos' must be an int in \[0, 624\]"),
    "rng-pos-float": (_rng("pos", 3.0), r"'rng.pos' must be an int"),
    "rng-kind": (_rng("kind", "PCG64"), r"the generator kind 'rng.kind' must be 'MT19937', got 'PCG64'"),
    "rng-has-gauss": (_rng("has_gauss", 2), r"'rng.has_gauss' must be 0 or 1, got 2"),
    "rng-gauss-nan": (_rng("gauss", float("nan")), r"'rng.gauss' must be a finite number"),
    "rng-gauss-string": (_rng("gauss", "x"), r"'rng.gauss' must be a finite number, got 'x'"),
    "rng-extra": (_rng("seed", 1), r"unknown field\(s\) \['seed'\]"),
    "rng-null": (_set("rng", None), r"holds no generator state"),
    "rng-list": (_set("rng", [1, 2]), r"the generator state 'rng' must be a JSON object"),
    "iterations-abc": (_set("iterations", "abc"), r"'iterations' must be a non-negative integer, got 'abc'"),
    "iterations-negative": (_set("iterations", -1), r"'iterations' must be a non-negative integer"),
    "iterations-float": (_set("iterations", 2.5), r"'iterations' must be a non-negative integer, got 2.5"),
    "iterations-bool": (_set("iterations", True), r"'iterations' must be a non-negative integer, got True"),
    "updates-huge": (_set("updates", 2**70), r"'updates' must be a non-negative integer"),
    "best-validation-late": (_set("best_validation", 99), r"'best_validation' \(99\) is after the last validation"),
    "best-iteration-late": (_set("best_iteration", 99), r"'best_iteration' \(99\) is after the last iteration"),
    "best-loss-bogus": (_set("best_loss", "bogus"), r"'best_loss' must be a number \(or 'nan', 'inf', '-inf'\), got 'bogus'"),
    "best-loss-list": (_set("best_loss", [1]), r"'best_loss' must be a number"),
    "last-validation-list": (_set("last_validation", [1, 2]), r"'last_validation' must be an object of monitor values, got \[1, 2\]"),
    "last-validation-string": (_set("last_validation", {"loss": "low"}), r"the monitor 'loss' of 'last_validation' must be a number"),
    "last-validation-no-loss": (_set("last_validation", {"err": 1.0}), r"'last_validation' must be empty or holding 'loss'"),
    "state-names": (_set("state", ["a"]), r"the optimizer state \['a'\] does not fit this trainer's"),
    "state-string": (_set("state", "hid1.w.m"), r"'state' must be a list of names"),
    "algo": (_set("algo", "sgd"), r"was written by a 'sgd' trainer; this trainer runs 'adam'"),
    "position-negative": (_set("position", -2), r"'position' must be null or a non-negative int"),
    "position-past-the-pass": (_set("position", 4), r"'position' is batch 4 of a pass, but a pass here has 4 batches"),
    "examples": (_set("examples", 65), r"the example order has 64 entries for 65 examples"),
    "unknown-field": (_set("note", 1), r"unknown field\(s\) \['note'\]"),
    "missing-field": (lambda d: d.__delitem__("updates"), r"lacks the field\(s\) \['updates'\]"),
    "version": (_set("version", 7), r"unsupported checkpoint \(format 'graphc.training-checkpoint', version 7\)"),
}

BAD_ARRAYS = {
    "keys-short": ("__rng__/keys", np.ones(600, np.uint32), r"entry '__rng__/keys' has shape \(600,\) in the file, expected \(624,\)"),
    "keys-float": ("__rng__/keys", np.ones(624), r"'__rng__/keys' must hold 624 unsigned 32-bit integers, got float64"),
    "keys-big": ("__rng__/keys", np.full(624, 2**40), r"holds values outside \[0, 2\*\*32\)"),
    "keys-zero": ("__rng__/keys", np.zeros(624, np.uint32), r"is all zeros"),
    "keys-strings": ("__rng__/keys", np.array(["a"] * 624), r"'__rng__/keys' holds <U1 values; expected numbers"),
    "order-zeros": ("__order__", np.zeros(64, np.int64), r"the example order '__order__' is not a permutation of 0..63"),
    "order-range": ("__order__", np.arange(64) + 1, r"not a permutation of 0..63"),
    "order-float": ("__order__", np.arange(64, dtype=float), r"'__order__' is float64 of shape \(64,\); expected 64 integers"),
    "order-short": ("__order__", np.arange(10), r"'__order__' is int64 of shape \(10,\); expected 64 integers"),
    "state-nan": ("__state__/0", np.full((3, 5), np.nan, np.float32), r"optimizer state 'hid1.w.m' holds 15 non-finite"),
    "state-strings": ("__state__/1", np.array([["x"] * 5] * 3), r"'__state__/1' holds <U1 values; expected numbers"),
    "state-shape": ("__state__/0", np.zeros((5, 3), np.float32), r"'__state__/0' has shape \(5, 3\) in the file, expected \(3, 5\)"),
    "param-nan": ("hid1.w", np.full((3, 5), np.nan, np.float32), r"parameter 'hid1.w' holds 15 non-finite"),
    "param-inf-best": ("__best__/out.b", np.array([np.inf, 0], np.float32), r"the best values of 'out.b' holds 1 non-finite"),
    "state-inf-scalar": ("__state__/8", np.array(np.inf, np.float32), r"optimizer state 'adam.t' holds 1 non-finite"),
    "unknown-entry": ("__extra__", np.zeros(2), r"the entry '__extra__' belongs to no parameter or state of this trainer"),
    "extra-state": ("__state__/9", np.zeros(2), r"the entries \['__state__/9'\] belong to no parameter"),
}


@pytest.mark.parametrize("bad", list(BAD_FIELDS), ids=list(BAD_FIELDS))
def test_a_bad_field_is_refused_and_changes_nothing(checkpoint, tmp_path, bad):
    change, pattern = BAD_FIELDS[bad]
    path = with_training(checkpoint[1], tmp_path / "bad.npz", change)
    trainer = _trainer()
    train_set = trainer.dataset([X, Y], "train", shuffle=True)
    before = _state(trainer)
    with pytest.raises(ValueError, match=pattern) as info:
        trainer.load_checkpoint(path, train_set)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    _assert_unchanged(before, _state(trainer))
    assert train_set._index == 0 and train_set._order is None


@pytest.mark.parametrize("bad", list(BAD_ARRAYS), ids=list(BAD_ARRAYS))
def test_a_bad_array_is_refused_and_changes_nothing(checkpoint, tmp_path, bad):
    key, value, pattern = BAD_ARRAYS[bad]
    path = write(tmp_path / "bad.npz", dict(checkpoint[1], **{key: value}))
    trainer = _trainer()
    train_set = trainer.dataset([X, Y], "train", shuffle=True)
    before = _state(trainer)
    with pytest.raises(ValueError, match=pattern) as info:
        trainer.load_checkpoint(path, train_set)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    _assert_unchanged(before, _state(trainer))


def test_the_good_checkpoint_loads(checkpoint):
    trainer = _trainer()
    train_set = trainer.dataset([X, Y], "train", shuffle=True)
    trainer.load_checkpoint(checkpoint[0], train_set)
    assert trainer.iterations == 3 and np.array_equal(np.sort(train_set._order), np.arange(64))
    assert description(checkpoint[1], TRAINING_KEY)["examples"] == 64


SEGFAULT = """
import json, numpy as np
from graphc import theanets
with np.load({path!r}) as f:
    arrays = {{k: f[k] for k in f.files}}
desc = json.loads(arrays["__graphc_training__"].tobytes())
desc["rng"]["pos"] = 10**9
arrays["__graphc_training__"] = np.frombuffer(json.dumps(desc).encode(), np.uint8)
np.savez({bad!r}, **arrays)
X = np.random.RandomState(0).randn(64, 3).astype("f")
try:
    theanets.Regressor([3, (5, "tanh"), 2]).train([X, X[:, :2]], max_updates=6, checkpoint={bad!r}, resume=True,
                                                  algo="adam", batch_size=16, progress=False)
    print("RESUMED")
except ValueError as exc:
    print("ERROR", exc)
"""


def test_an_out_of_range_generator_position_does_not_crash_resume(checkpoint, tmp_path):
    bad = tmp_path / "pos.npz"
    code = textwrap.dedent(SEGFAULT.format(path=str(checkpoint[0]), bad=str(bad)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])  # -11 was SIGSEGV
    assert proc.stdout.strip() == f"ERROR {bad}: the generator position 'rng.pos' must be an int in [0, 624], got 1000000000"


@pytest.mark.parametrize("cut", ["empty", 100, "half", -30])
def test_truncated_checkpoints_on_resume(checkpoint, tmp_path, cut):
    data = checkpoint[0].read_bytes()
    keep = {"empty": 0, "half": len(data) // 2}.get(cut, cut)
    bad = tmp_path / "cut.npz"
    bad.write_bytes(data[:keep] if keep >= 0 else data[: len(data) + keep])
    assert not is_checkpoint(bad)
    net = _net()
    before = [p.get_value() for p in net.params]
    with pytest.raises(ValueError, match="is not a graphc training checkpoint") as info:
        net.train([X, Y], max_updates=5, checkpoint=bad, resume=True, **KW)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)
    assert all(np.array_equal(a, p.get_value()) for a, p in zip(before, net.params))
    with pytest.raises(ValueError, match="is not a graphc model file"):
        theanets.Network.load(bad)


# -- non-finite steps ------------------------------------------------------------------------------
def test_an_infinite_input_is_caught_in_the_step_that_made_nan_gradients(tmp_path, caplog):
    bad = X.copy()
    bad[0, 0] = np.inf  # tanh saturates: the loss stays finite, the gradient of hid1.w is 0 * inf = NaN
    kw = dict(KW, batch_size=None)  # full batch: one step per iteration
    # the bug's precondition, with the check off: a finite loss, NaN parameters
    net = _net()
    for train, valid in Trainer(net, max_updates=1, stop_on_nonfinite=False, **kw).itertrain([bad, Y], [X, Y]):
        assert np.isfinite(train["loss"]) and np.isnan(valid["loss"])
        assert not np.isfinite(net.find("hid1", "w").get_value()).all()
    # with it on: stopped in that very step, nothing non-finite kept or written
    net, ck = _net(), tmp_path / "ck.npz"
    start = [p.get_value() for p in net.params]
    trainer = Trainer(net, max_updates=5, checkpoint=ck, **kw)
    with caplog.at_level(logging.ERROR, logger="graphc.training"):
        trainer.train([bad, Y], [X, Y])
    assert trainer.stop_reason == "non-finite loss" and trainer.iterations == 0 and trainer.updates == 0
    assert "non-finite gradients or new parameter values" in caplog.text
    for a, p in zip(start, net.params):  # the best (and only) validated parameters: the initial ones
        assert np.array_equal(a, p.get_value())
    loaded = theanets.Network.load(ck)
    assert np.isfinite(loaded.predict(X)).all()
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    with pytest.raises(ValueError, match=r"cannot save a checkpoint to .*nan.npz: 'hid1.w' holds 5 non-finite"):
        Trainer(_net(), max_updates=1, stop_on_nonfinite=False, checkpoint=tmp_path / "nan.npz", **kw).train([bad, Y], [X, Y])
    assert not (tmp_path / "nan.npz").exists()


def test_a_bad_minibatch_undoes_its_whole_iteration():
    calls = {"n": 0}

    def batches():
        calls["n"] += 1
        x = X[:16].copy()
        if calls["n"] == 8:  # the 2nd batch of the 3rd iteration
            x[3, 1] = np.inf
        return [x, Y[:16]]

    net = _net()
    trainer = Trainer(net, train_batches=3, **dict(KW, validate_every=100))
    seen = [[p.get_value() for p in net.params] for _ in trainer.itertrain(batches, [X, Y])]
    assert trainer.stop_reason == "non-finite loss" and len(seen) == 2
    assert trainer.iterations == 2 and trainer.updates == 6


def test_the_file_written_at_the_end_holds_the_best_parameters_and_resumes_exactly(tmp_path):
    # validated against the untrained network's own predictions: the best parameters are the initial ones
    valid = [X, _net().predict(X)]
    whole_ck, part_ck = tmp_path / "whole.npz", tmp_path / "part.npz"
    whole = _net()
    whole_log = list(whole.itertrain([X, Y], valid, max_updates=7, checkpoint=whole_ck, **KW))
    part = _net()
    trainer = Trainer(part, max_updates=4, checkpoint=part_ck, **KW)
    trainer.train([X, Y], valid)
    assert trainer.best_iteration < trainer.iterations == 4  # the precondition: the last are not the best
    arrays = read(part_ck)
    assert {f"__last__/{p.name}" for p in part.params} <= set(arrays)
    loaded = theanets.Network.load(part_ck)  # the network restore_best left in memory
    for p, q in zip(part.params, loaded.params):
        assert np.array_equal(p.get_value(), q.get_value())
        assert np.array_equal(arrays[f"__best__/{p.name}"], q.get_value())
    resumed = _net()
    log = list(resumed.itertrain([X, Y], valid, max_updates=7, checkpoint=part_ck, resume=True, **KW))
    assert log == whole_log[4:]  # the same monitors, iteration by iteration: resumed from the last parameters
    for p, q in zip(read(whole_ck).items(), read(part_ck).items()):
        assert p[0] == q[0] and (p[0] == "__graphc_training__" or np.array_equal(p[1], q[1]))


def test_batch_size_none_is_the_whole_dataset_and_negative_sizes_are_refused():
    a, b = _net(), _net()
    Trainer(a, max_updates=2, **dict(KW, batch_size=None)).train([X, Y])
    Trainer(b, max_updates=2, **dict(KW, batch_size=len(X))).train([X, Y])
    for p, q in zip(a.params, b.params):
        assert np.array_equal(p.get_value(), q.get_value())
    with pytest.raises(ValueError, match=r"batch_size must be an integer > 0, or None .* got -7"):
        Trainer(_net(), batch_size=-7)


def test_a_checkpoint_of_another_length_or_position(checkpoint, tmp_path):
    trainer = _trainer()
    short = trainer.dataset([X[:40], Y[:40]], "train", shuffle=True)
    with pytest.raises(ValueError, match=r"'__order__' is int64 of shape \(64,\); expected 40 integers"):
        trainer.load_checkpoint(checkpoint[0], short)
    path = with_training(checkpoint[1], tmp_path / "mid.npz", _set("position", 2))
    arrays = {k: v for k, v in read(path).items() if k != "__order__"}
    path = write(tmp_path / "no-order.npz", arrays)
    with pytest.raises(ValueError, match=r"stops in the middle of a shuffled pass \(batch 2\) but holds no example order"):
        trainer.load_checkpoint(path, trainer.dataset([X, Y], "train", shuffle=True))


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6), st.sampled_from(["nan", "inf", "MT19937", "adam", "loss"]), st.lists(st.integers(-2, 700), max_size=3),
    st.dictionaries(st.sampled_from(["loss", "err", "kind", "pos"]), st.integers(-1, 700), max_size=2),
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_field_damage_is_a_clean_load_or_changes_nothing(checkpoint, tmp_path, data):
    desc = description(checkpoint[1], TRAINING_KEY)
    section = data.draw(st.sampled_from(["top", "rng", "last_validation"]))
    target = desc if section == "top" else desc[section]
    key = data.draw(st.sampled_from(sorted(target)))
    if data.draw(st.booleans()):
        del target[key]
    else:
        target[key] = data.draw(_VALUES)
    path = write(tmp_path / "damaged.npz", checkpoint[1], TRAINING_KEY, desc)
    trainer = _trainer()
    train_set = trainer.dataset([X, Y], "train", shuffle=True)
    before = _state(trainer)
    try:
        trainer.load_checkpoint(path, train_set)
    except ValueError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        _assert_unchanged(before, _state(trainer))
    else:
        trainer.train([X, Y])  # whatever was accepted trains
