"""``graphc legacy``, ``python -m graphc.compat``: unchanged Theano and Lasagne scripts run on graphc.

Each test writes a small script the way upstream users wrote them and runs it through the
installed ``graphc`` command in a subprocess, so the import aliases never leak into this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GRAPHC = Path(sys.executable).parent / "graphc"

LOGREG = """
    import sys
    import numpy as np
    import theano
    import theano.tensor as T
    import graphc

    assert theano.tensor is graphc.tensor and theano.function is graphc.function
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(theano.config.floatX)
    x, t = T.matrix("x"), T.vector("t")
    w = theano.shared(np.zeros(3, dtype=theano.config.floatX), name="w")
    b = theano.shared(np.asarray(0.0, dtype=theano.config.floatX), name="b")
    p = T.nnet.sigmoid(T.dot(x, w) + b)
    cost = T.nnet.binary_crossentropy(p, t).mean()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function([x, t], cost, updates=[(w, w - 0.5 * gw), (b, b - 0.5 * gb)])
    costs = [float(train(X, y)) for _ in range(30)]
    # numpy oracle: the first step from zero weights
    assert abs(costs[0] - np.log(2)) < 1e-5
    w_np, b_np = np.zeros(3), 0.0
    for _ in range(30):
        z = 1 / (1 + np.exp(-(X @ w_np + b_np)))
        w_np, b_np = w_np - 0.5 * X.T @ (z - y) / len(y), b_np - 0.5 * (z - y).mean()
    assert np.allclose(w.get_value(), w_np, atol=1e-4), (w.get_value(), w_np)
    print("name", __name__, "argv", sys.argv[1:], "dtype", theano.config.floatX)
    print("costs", costs[0], costs[-1])
    assert costs[-1] < costs[0] / 2
"""

MLP = """
    import numpy as np
    import theano
    import theano.tensor as T
    import lasagne
    import lasagne.layers.helper
    from lasagne.layers import InputLayer, DenseLayer, get_output, get_all_params
    from lasagne.layers.dense import DenseLayer as D2

    assert D2 is DenseLayer and lasagne.layers.helper is lasagne.layers.helper
    rng = np.random.RandomState(1)
    X = rng.randn(32, 5).astype("float32")
    y = rng.randint(0, 3, size=32).astype("int32")
    l_in = InputLayer((None, 5))
    l_hid = DenseLayer(l_in, 7, nonlinearity=lasagne.nonlinearities.tanh)
    l_out = DenseLayer(l_hid, 3, nonlinearity=lasagne.nonlinearities.softmax)
    x, t = T.matrix("x"), T.ivector("t")
    loss = lasagne.objectives.categorical_crossentropy(get_output(l_out, x), t).mean()
    params = get_all_params(l_out, trainable=True)
    f = theano.function([x, t], loss, updates=lasagne.updates.sgd(loss, params, learning_rate=0.5))
    W0 = l_hid.W.get_value().copy()
    h = np.tanh(X @ W0)
    e = np.exp(h @ l_out.W.get_value())
    ref = -np.log((e / e.sum(1, keepdims=True))[np.arange(32), y]).mean()
    losses = [float(f(X, y)) for _ in range(10)]
    assert abs(losses[0] - ref) < 1e-4, (losses[0], ref)
    assert losses[-1] < losses[0]
    print("ok", losses[0], losses[-1])
"""


def _script(tmp_path: Path, body: str, name: str = "prog.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def _run(*args: object, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("THEANO_FLAGS", "GRAPHC_FLOATX")}
    full_env.update(env or {})
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=300)


def _legacy(*args: object, **kw: object) -> subprocess.CompletedProcess[str]:
    return _run(GRAPHC, "legacy", *args, **kw)  # type: ignore[arg-type]


def test_logistic_regression_runs_unchanged(tmp_path: Path) -> None:
    res = _legacy(_script(tmp_path, LOGREG), "a", "--b", "-c", "--help")
    assert res.returncode == 0, res.stderr
    assert "name __main__ argv ['a', '--b', '-c', '--help'] dtype float32" in res.stdout


def test_lasagne_mlp_trains(tmp_path: Path) -> None:
    res = _legacy(_script(tmp_path, MLP))
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("ok")


def test_python_m_graphc_compat(tmp_path: Path) -> None:
    res = _run(sys.executable, "-m", "graphc.compat", _script(tmp_path, LOGREG), "x")
    assert res.returncode == 0, res.stderr
    assert "argv ['x']" in res.stdout


def test_theano_flags_floatx(tmp_path: Path) -> None:
    res = _legacy(_script(tmp_path, LOGREG), env={"THEANO_FLAGS": "floatX=float64,device=cpu"})
    assert res.returncode == 0, res.stderr
    assert "dtype float64" in res.stdout


def test_script_folder_on_path(tmp_path: Path) -> None:
    (tmp_path / "helper_mod.py").write_text("VALUE = 42\n")
    script = _script(tmp_path, "import helper_mod\nprint(helper_mod.VALUE)\n")
    res = _legacy(script, cwd=Path("/"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "42"


@pytest.mark.parametrize(("code", "status"), [("0", 0), ("3", 3), ("None", 0), ("'bye'", 1)])
def test_exit_codes_pass_through(tmp_path: Path, code: str, status: int) -> None:
    res = _legacy(_script(tmp_path, f"import sys\nsys.exit({code})\n"))
    assert res.returncode == status
    if code == "'bye'":
        assert res.stderr.strip() == "bye"


def test_uncaught_exception_shows_traceback(tmp_path: Path) -> None:
    script = _script(tmp_path, "def f():\n    raise ValueError('boom here')\n\nf()\n")
    res = _legacy(script)
    assert res.returncode == 1
    assert res.stderr.startswith("Traceback (most recent call last):")
    assert f'File "{script}", line 4' in res.stderr and "line 2, in f" in res.stderr
    assert res.stderr.strip().endswith("ValueError: boom here")
    assert "runpy" not in res.stderr and "runner.py" not in res.stderr


def test_missing_script(tmp_path: Path) -> None:
    res = _legacy(tmp_path / "nope.py")
    assert res.returncode == 2
    assert "nope.py" in res.stderr


@pytest.mark.parametrize(
    ("line", "exc", "missing"),
    [
        ("import theano\ntheano.tensor.frobnicate", "NotProvidedAttributeError", "theano.tensor.frobnicate"),
        ("import theano.tensor as T\nT.frobnicate", "NotProvidedAttributeError", "theano.tensor.frobnicate"),
        ("from theano.tensor import frobnicate", "NotProvidedImportError", "theano.tensor.frobnicate"),
        ("import theano.d3viz", "NotProvidedImportError", "theano.d3viz"),
        ("import lasagne\nlasagne.layers.FrobLayer", "NotProvidedAttributeError", "lasagne.layers.FrobLayer"),
    ],
)
def test_missing_names_fail_in_one_line(tmp_path: Path, line: str, exc: str, missing: str) -> None:
    res = _legacy(_script(tmp_path, line + "\n"))
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last == f"graphc.compat.aliases.{exc}: graphc does not provide {missing}"


def test_missing_names_are_catchable(tmp_path: Path) -> None:
    body = """
        import theano
        try:
            from theano.tensor import frobnicate
        except ImportError as e:
            print("import", e)
        try:
            theano.frobnicate
        except AttributeError as e:
            print("attr", e)
        print(hasattr(theano.tensor, "frobnicate"), getattr(theano, "nope", 5))
    """
    res = _legacy(_script(tmp_path, body))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        "import graphc does not provide theano.tensor.frobnicate",
        "attr graphc does not provide theano.frobnicate",
        "False 5",
    ]


def test_gpu_backends_report_absent(tmp_path: Path) -> None:
    body = """
        import theano
        import theano.sandbox.cuda
        from theano.sandbox import cuda
        from theano import gpuarray
        import theano.gpuarray.dnn
        print(cuda.cuda_available, cuda.cuda_enabled, gpuarray.pygpu_activated, theano.gpuarray.dnn.dnn_present())
        print(theano.config.device)
        for mod in ("dnn", "cuda_convnet", "corrmm"):
            try:
                __import__("lasagne.layers." + mod)
            except ImportError as e:
                print(mod, e)
        try:
            from lasagne.layers import dnn
        except ImportError as e:
            print("from", e)
    """
    res = _legacy(_script(tmp_path, body))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "False False False False"
    assert lines[1] == "cpu"
    msg = "requires GPU support -- see http://lasagne.readthedocs.org/en/latest/user/installation.html#gpu-support"
    assert lines[2:] == [f"dnn {msg}", f"cuda_convnet {msg}", f"corrmm {msg}", f"from {msg}"]


def test_theanets_alias(tmp_path: Path) -> None:
    res = _legacy(_script(tmp_path, "import theanets, graphc\nprint(theanets.Regressor is graphc.theanets.Regressor)\n"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "True"


def test_help_lists_legacy() -> None:
    res = _run(GRAPHC, "legacy", "--help")
    assert res.returncode == 0
    assert "SCRIPT" in res.stdout or "script" in res.stdout


def test_theano_module_paths_resolve(tmp_path: Path) -> None:
    body = """
        import theano
        import theano.tensor as T
        from theano.ifelse import ifelse
        from theano.printing import pprint, debugprint, Print
        from theano.gradient import grad_clip, zero_grad, jacobian, hessian, Rop, Lop
        from theano.tensor.signal.downsample import max_pool_2d
        from theano.tensor.signal.pool import pool_2d
        import theano.tensor.nnet.conv
        from theano.tensor.nnet import bn, conv2d
        from theano.sandbox.rng_mrg import MRG_RandomStreams
        from theano.compile.mode import Mode
        from theano.gof import graph, Variable
        from theano.tensor.shared_randomstreams import RandomStreams
        from theano.tensor.nnet.neighbours import images2neibs
        from theano.tensor.extra_ops import cumsum
        from theano.compat import OrderedDict
        from theano.compat.python2x import izip
        import graphc
        assert OrderedDict is __import__("collections").OrderedDict and callable(graphc.compat.install)
        assert theano.tensor.nnet.conv.conv2d is graphc.compat.old_paths.nnet_conv.conv2d
        assert bn.batch_normalization is graphc.compat.old_paths.nnet_bn.batch_normalization
        assert theano.clone is graphc.clone and theano.Mode is Mode and theano.printing is graphc.printing
        x = T.itensor3("x")
        a, b = T.dmatrices("a", "b")
        print(pprint(a + b), x.dtype, theano.config.device)
        try:
            theano.printing.pydotprint
        except AttributeError as e:
            print(e)
    """
    res = _legacy(_script(tmp_path, body))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["(a + b) int32 cpu", "graphc does not provide theano.printing.pydotprint"]


def test_gpu_module_attribute_probe(tmp_path: Path) -> None:
    body = """
        import lasagne
        print(hasattr(lasagne.layers, "dnn"))
        try:
            lasagne.layers.corrmm
        except AttributeError as e:
            print(e)
    """
    res = _legacy(_script(tmp_path, body))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        "False",
        "lasagne.layers.corrmm: requires GPU support -- see "
        "http://lasagne.readthedocs.org/en/latest/user/installation.html#gpu-support",
    ]


def test_install_in_a_notebook_process() -> None:
    code = textwrap.dedent(
        """
        import graphc, graphc.compat
        graphc.compat.install()
        graphc.compat.install()
        import theano, lasagne, theano.tensor as T
        import lasagne.layers.recurrent
        assert theano is graphc and lasagne is graphc and T is graphc.tensor
        assert lasagne.layers.recurrent is graphc.layers.recurrent
        graphc.compat.uninstall()
        import sys
        assert "theano" not in sys.modules and "lasagne.layers.recurrent" not in sys.modules
        assert "__getattr__" not in vars(graphc) and "__getattr__" not in vars(graphc.tensor)
        try:
            import theano
        except ImportError:
            print("gone")
        else:  # a real Theano installed beside graphc
            print("gone" if theano is not graphc else "still aliased")
        """
    )
    res = _run(sys.executable, "-c", code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "gone"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("mode=DebugMode", "graphc legacy: error: THEANO_FLAGS: graphc cannot honour mode 'DebugMode'"),
        ("floatX=float128", 'graphc legacy: error: THEANO_FLAGS: Invalid value ("float128") for configuration variable "floatX"'),
        ("dnn.enabled=maybe", 'graphc legacy: error: THEANO_FLAGS: Invalid value ("maybe") for configuration variable "dnn.enabled"'),
        ("lib.cnmem=-1", 'graphc legacy: error: THEANO_FLAGS: Invalid value (-1) for configuration variable "lib.cnmem"'),
    ],
)
def test_bad_theano_flags_fail_in_one_line(tmp_path: Path, flags: str, message: str) -> None:
    res = _legacy(_script(tmp_path, "print('ran')\n"), env={"THEANO_FLAGS": flags})
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith(message) and len(res.stderr.strip().splitlines()) == 1


def test_dotted_theano_flags_reach_the_program(tmp_path: Path) -> None:
    """Theano's sections read as it does; a flag without a value and an unknown flag only warn, as in Theano."""
    code = (
        "import theano\n"
        "c = theano.config\n"
        "print(c.floatX, c.warn.round, c.dnn.enabled, c.lib.cnmem, repr(c.gcc.cxxflags), c.allow_gc, c.dnn.conv.algo_fwd)\n"
    )
    flags = 'warn.round=False,floatX=float64,gcc.cxxflags="-O3,-g",dnn.enabled=False,lib.cnmem=0.8,allow_gc=0,oops,frob.nicate=1'
    res = _legacy(_script(tmp_path, code), env={"THEANO_FLAGS": flags})
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[0] == "float64 False False 0.8 '-O3,-g' False small"
    assert "Config key 'oops' has no value, ignoring it" in res.stderr
    assert "Theano does not recognise this flag: frob.nicate" in res.stderr
