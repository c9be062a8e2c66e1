"""Hostile theanets network files (issue 14): damaged, truncated, bombs, lying descriptions, bad JSON.

Every such file must give one clear ``ValueError`` naming the file (``FileNotFoundError`` for a
missing path), never a traceback from deep inside numpy or zipfile, a ``MemoryError``, a crash
or a network built from values that are not there.  Where memory is the point, the load runs
in a child process limited to 3 GiB of address space.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hostile_files import outcome, read, run_limited, with_model, write, zip_bomb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphc import theanets
from graphc.export import load_training_state, save_training, training_model
from graphc.export.budget import BudgetError
from graphc.theanets._model_io import SPEC_KEY

X = np.random.RandomState(3).randn(6, 3).astype("f")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small saved Regressor: (path, its arrays, the network)."""
    folder = tmp_path_factory.mktemp("model")
    net = theanets.Regressor([3, (5, "tanh"), 2])
    path = folder / "m.npz"
    net.save(path)
    return path, read(path), net


def _one_line(exc: BaseException, path) -> str:
    text = str(exc)
    assert "\n" not in text and str(path) in text, text
    return text


# -- truncated, empty, not an archive -----------------------------------------------------------
def _future_zip(data: bytes) -> bytes:
    """The archive with every central directory entry asking for zip version 9.9 (zipfile raises NotImplementedError)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        out[at + 6 : at + 8] = (99).to_bytes(2, "little")
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


@pytest.mark.parametrize("cut", ["empty", 30, "half", -22, -1, "future-zip", "garbage"])
def test_truncated_or_empty_model_files_give_one_clear_error(saved, tmp_path, cut):
    data = saved[0].read_bytes()
    bad = tmp_path / "cut.npz"
    if cut == "future-zip":
        bad.write_bytes(_future_zip(data))
    elif cut == "garbage":
        bad.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    else:
        keep = {"empty": 0, "half": len(data) // 2}.get(cut, cut)
        bad.write_bytes(data[:keep] if keep >= 0 else data[: len(data) + keep])
    with pytest.raises(ValueError) as info:
        theanets.Network.load(bad)
    text = _one_line(info.value, bad)
    assert "is not a graphc model file" in text


def test_missing_files_and_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        theanets.Network.load(tmp_path / "absent.npz")
    with pytest.raises(ValueError, match="is a folder"):
        theanets.Network.load(tmp_path)


@pytest.mark.parametrize("cut", ["empty", 40, "half", -3])
def test_truncated_training_state_files(tmp_path, cut):
    import graphc
    import graphc.tensor as T

    x = T.matrix("x", shape=(None, 3))
    w = graphc.shared(np.ones((3, 2), np.float32), name="W")
    cost = T.dot(x, w).sum()
    _, path = save_training(*training_model([x], cost, graphc.updates.sgd(cost, [w], 0.1)), tmp_path / "s.onnx")
    assert set(load_training_state(path)) == {"W"}
    data = path.read_bytes()
    keep = {"empty": 0, "half": len(data) // 2}.get(cut, cut)
    path.write_bytes(data[:keep] if keep >= 0 else data[: len(data) + keep])
    with pytest.raises(ValueError) as info:
        load_training_state(path)
    assert "is not a training state file" in _one_line(info.value, path)


# -- the description -----------------------------------------------------------------------------
def _drop(key):
    def change(d):
        del d[key]

    return change


def _layer(index, **changes):
    def change(d):
        d["layers"][index].update(changes)

    return change


BAD_DESCRIPTIONS = {
    "no-class": (_drop("class"), r"lacks the field\(s\) \['class'\]"),
    "class-int": (lambda d: d.update({"class": 5}), r"'class' must be a class name, got 5"),
    "class-unknown": (lambda d: d.update({"class": "Nope"}), r"class 'Nope', which is not defined"),
    "unknown-field": (lambda d: d.update({"extra": 1}), r"unknown field\(s\) \['extra'\]"),
    "layers-dict": (lambda d: d.update({"layers": {"a": 1}}), r"'layers' must be a list of 1 to"),
    "layers-empty": (lambda d: d.update({"layers": []}), r"'layers' must be a list of 1 to"),
    "layer-list": (lambda d: d["layers"].__setitem__(1, [1, 2, 3]), r"layer 1 must be a JSON object, got \[1, 2, 3\]"),
    "layer-no-form": (lambda d: d["layers"][1].__delitem__("form"), r"layer 1: 'form' must be a layer form name"),
    "form-unknown": (_layer(1, form="magic"), r"form 'magic' is not registered"),
    "size-string": (_layer(1, size="5"), r"layer 'hid1': 'size' must be null or an int"),
    "size-negative": (_layer(1, size=-5), r"'size' must be null or an int in \[1, "),
    "size-float": (_layer(1, size=5.0), r"'size' must be null or an int"),
    "name-dotted": (_layer(1, name="a.b"), r"'name' must be a string of 1 to 200 characters without ':' or '.'"),
    "name-twice": (_layer(2, name="hid1"), r"layer 'hid1': two layers have that name"),
    "inputs-string": (_layer(1, inputs="in:out"), r"'inputs' must be a list of layer output names"),
    "inputs-later": (_layer(1, inputs=["out:out"]), r"input 'out:out' names no layer before it"),
    "shape-zero": (_layer(0, shape=[0]), r"'shape' must be a list of 1 to 8 sizes"),
    "activation-int": (_layer(1, activation=3), r"'activation' must be an activation name, got 3"),
    "activation-unknown": (_layer(1, activation="tanhh"), r"unknown activation 'tanhh'"),
    "std-nan": (_layer(1, std=float("nan")), r"layer 'hid1': 'std' must be a finite number"),
    "sparsity-one": (_layer(1, sparsity=1), r"'sparsity' must be in \[0, 1\)"),
    "layer-rng-huge": (_layer(1, rng=2**40), r"'rng' must be null or an int seed"),
    "rng-string": (lambda d: d.update({"rng": "x"}), r"'rng' must be null or an int seed in \[0, 4294967295\], got 'x'"),
    "losses-string": (lambda d: d.update({"losses": "mse"}), r"'losses' must be a list of 1 to 100 loss objects"),
    "loss-form": (lambda d: d["losses"][0].update({"form": "msee"}), r"loss 0: 'form' must be one of"),
    "loss-weight": (lambda d: d["losses"][0].update({"weight": "1"}), r"loss 0: 'weight' must be a finite number"),
    "loss-output": (lambda d: d["losses"][0].update({"output_name": "nope:out"}), r"'output_name' must be an output of one of"),
    "loss-output-port": (lambda d: d["losses"][0].update({"output_name": "out:nope"}), r"reads the output 'out:nope'"),
    "loss-extra": (lambda d: d["losses"][0].update({"target": 3}), r"loss 0 has unknown field\(s\) \['target'\]"),
    "params-not-list": (lambda d: d.update({"params": "hid1.w"}), r"'params' must be a list of distinct parameter names"),
    "params-missing": (lambda d: d["params"].append("out.q"), r"layer 'out': no values for parameter 'out.q'"),
    "params-short": (lambda d: d["params"].remove("out.b"), r"values for unknown parameters \['out.b'\]"),
    "format": (lambda d: d.update({"version": 99}), r"unsupported model file \(format 'graphc.theanets-model', version 99\)"),
    "not-object": (lambda d: [d], r"the model description must be a JSON object"),
}


@pytest.mark.parametrize("bad", list(BAD_DESCRIPTIONS), ids=list(BAD_DESCRIPTIONS))
def test_bad_descriptions_give_one_clear_value_error(saved, tmp_path, bad):
    change, pattern = BAD_DESCRIPTIONS[bad]
    path = with_model(saved[1], tmp_path / "bad.npz", change)
    with pytest.raises(ValueError, match=pattern) as info:
        theanets.Network.load(path)
    _one_line(info.value, path)


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("[" * 100_000 + "]" * 100_000, r"nests 100000 levels deep, over the limit of 32"),
        ('{"a": ' * 50 + "1" + "}" * 50, r"nests 50 levels deep"),
        ("{not json", r"is not valid JSON"),
        ('{"size": ' + "9" * 5000 + "}", r"is not valid JSON"),
        ("", r"is not valid JSON"),
    ],
    ids=["deep-lists", "deep-objects", "syntax", "huge-int", "empty"],
)
def test_unparsable_descriptions(saved, tmp_path, text, pattern):
    path = write(tmp_path / "bad.npz", saved[1], SPEC_KEY, text=text)
    with pytest.raises(ValueError, match=pattern) as info:
        theanets.Network.load(path)
    _one_line(info.value, path)


def test_descriptions_that_are_not_utf8_bytes(saved, tmp_path):
    arrays = dict(saved[1], **{SPEC_KEY: np.array([0xFF, 0xFE, 0x00], np.uint8)})
    path = write(tmp_path / "latin.npz", arrays)
    with pytest.raises(ValueError, match="is not valid UTF-8 text"):
        theanets.Network.load(path)
    arrays[SPEC_KEY] = np.array(["{}"])
    path = write(tmp_path / "str.npz", arrays)
    with pytest.raises(ValueError, match=r"must be UTF-8 bytes \(a 1-d uint8 array\), got <U2"):
        theanets.Network.load(path)


# -- the arrays -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, pattern",
    [
        (np.full((3, 5), np.nan, np.float32), r"parameter 'hid1.w' holds 15 non-finite value\(s\)"),
        (np.array([["a"] * 5] * 3), r"parameter 'hid1.w' holds <U1 values; expected numbers"),
        (np.zeros((3, 5), np.complex64), r"holds complex64 values; expected numbers"),
        (np.zeros((5, 3), np.float32), r"parameter 'hid1.w' has shape \(5, 3\) in the file, expected \(3, 5\)"),
        (np.full((3, 5), 1e300), r"parameter 'hid1.w' holds 15 non-finite value\(s\)"),  # inf once in float32
    ],
    ids=["nan", "strings", "complex", "shape", "float64-overflow"],
)
def test_bad_parameter_arrays(saved, tmp_path, value, pattern):
    path = write(tmp_path / "bad.npz", dict(saved[1], **{"hid1.w": value}))
    with pytest.raises(ValueError, match=pattern) as info:
        theanets.Network.load(path)
    _one_line(info.value, path)


def test_a_good_file_still_loads_and_predicts_identically(saved, tmp_path):
    path, arrays, net = saved
    loaded = theanets.Network.load(path)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    # float64 values (a file written by hand) are converted to the parameters' float32
    as64 = write(tmp_path / "f64.npz", {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in arrays.items()})
    np.testing.assert_array_equal(theanets.Network.load(as64).predict(X), net.predict(X))
    # the loaded network saves the same description back
    loaded.save(tmp_path / "again.npz")
    assert json.loads(read(tmp_path / "again.npz")[SPEC_KEY].tobytes()) == json.loads(arrays[SPEC_KEY].tobytes())


def test_saving_refuses_non_finite_parameters(tmp_path):
    net = theanets.Regressor([3, 4, 2])
    w = net.find("hid1", "w")
    value = w.get_value()
    value[1, 2] = np.inf
    w.set_value(value)
    with pytest.raises(ValueError, match=r"cannot save the network to .*nan.npz: 'hid1.w' holds 1 non-finite value\(s\)"):
        net.save(tmp_path / "nan.npz")
    assert not (tmp_path / "nan.npz").exists()


# -- memory: descriptions that ask for more than the file holds, bombs, budgets ----------------------
WIDE = """
from graphc import theanets
catch(lambda: theanets.Network.load({path!r}))
peak()
"""


def _wide(desc, size=60_000):
    desc["layers"][0].update(size=size, shape=[size])
    desc["layers"][1]["size"] = size


@pytest.mark.parametrize(
    "change",
    [
        _wide,  # 60000 x 60000 float64 draws: 27 GiB
        lambda d: d["layers"][1].update(size=2_000_000_000),
        lambda d: (d["layers"][0].update(ndim=3), d["layers"][1].update(form="lstm", size=40_000)) and None,
    ],
    ids=["wide", "huge-size", "wide-lstm"],
)
def test_a_small_file_asking_for_huge_layers_is_refused_before_drawing(saved, tmp_path, change):
    path = with_model(saved[1], tmp_path / "wide.npz", change)
    assert path.stat().st_size < 4096
    line, peak = outcome(run_limited(WIDE.format(path=str(path))))
    assert line.startswith("ERROR ") and "MemoryError" not in line, line
    assert str(path) in line and ("initial values" in line or "does not" in line), line
    assert peak < 600, peak  # MiB: nothing was drawn


def test_a_zip_bomb_is_refused_before_it_inflates(saved, tmp_path):
    extra = {k: v for k, v in saved[1].items() if k != "hid1.w"}
    bomb = zip_bomb(tmp_path / "bomb.npz", "hid1.w", (150_000, 1000), extra)  # 600 MB of zeros
    assert bomb.stat().st_size < 2 << 20
    line, peak = outcome(run_limited(WIDE.format(path=str(bomb)), budget="256M"))
    # the member's header is read before its data: its shape is refused first
    assert line.startswith("ERROR FileContentError:") and str(bomb) in line and "'hid1.w' has shape (150000, 1000)" in line, line
    assert peak < 400, peak  # MiB: the 600 MB member was never inflated
    # a state file of the same kind, through load_training_state
    code = f"from graphc.export import load_training_state\ncatch(lambda: load_training_state({str(bomb)!r}))\npeak()\n"
    line, peak = outcome(run_limited(code, budget="256M"))
    assert line.startswith("ERROR BudgetError:") and str(bomb) in line and peak < 400, (line, peak)


def test_a_zip_bomb_within_the_budget_is_refused_by_its_shape_before_it_inflates(saved, tmp_path):
    extra = {k: v for k, v in saved[1].items() if k != "hid1.w"}
    bomb = zip_bomb(tmp_path / "bomb.npz", "hid1.w", (150_000, 1000), extra)  # 600 MB of zeros, the budget allows it
    line, peak = outcome(run_limited(WIDE.format(path=str(bomb))))
    assert line.startswith("ERROR ") and str(bomb) in line, line
    assert "parameter 'hid1.w' has shape (150000, 1000) in the file, expected" in line, line
    assert peak < 400, peak  # MiB: the description and the headers were read, no parameter inflated


def test_a_consistent_file_over_the_budget_is_refused(tmp_path, monkeypatch):
    net = theanets.Regressor([3, 100, 100, 2])
    net.save(tmp_path / "big.npz")
    monkeypatch.setenv("GRAPHC_MEMORY_BUDGET", "16K")
    with pytest.raises(BudgetError, match=r"big.npz.*over the memory budget of 16.0 KiB"):
        theanets.Network.load(tmp_path / "big.npz")
    monkeypatch.setenv("GRAPHC_MEMORY_BUDGET", "8M")
    assert theanets.Network.load(tmp_path / "big.npz").num_params == net.num_params


# -- random damage: any change to the description is a clean load or one clear error ------------------
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.sampled_from(["in:out", "hid1", "feedforward", "lstm", "nan", "tanh"]),
    st.lists(st.integers(-3, 10), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_description_damage_never_crashes(saved, tmp_path, data):
    desc = json.loads(saved[1][SPEC_KEY].tobytes())
    path = data.draw(st.sampled_from(list(_paths(desc))[1:]))
    target = desc
    for key in path[:-1]:
        target = target[key]
    if data.draw(st.booleans()) and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = data.draw(_VALUES)
    file = write(tmp_path / "damaged.npz", saved[1], SPEC_KEY, text=json.dumps(desc))
    try:
        net = theanets.Network.load(file)
    except (ValueError, TypeError) as exc:
        _one_line(exc, file)
    else:
        assert net.predict(X).shape == (6, 2)
