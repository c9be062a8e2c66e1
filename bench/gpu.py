"""GPU benchmark: graphc on ONNX Runtime's CUDA provider against PyTorch CUDA on the same GPU, in one run.

Every configuration is first checked for correctness (graphc on CUDA against graphc on the CPU,
and against PyTorch with the same weights), then timed: peers interleaved in rounds (``measure``
from ``bench/run.py``), medians quoted, every call synchronized (ONNX Runtime's run returns when
the GPU is done; PyTorch calls ``torch.cuda.synchronize()``).  graphc runs with IO binding, its
inputs already on the device and its outputs left there, as PyTorch's are.

Configurations and targets (ratios against PyTorch CUDA measured in the same run):

- LSTM inference, batch 64, time 100, input 128, hidden 512 (``LSTMLayer(peepholes=False)``,
  lowered to ONNX's ``LSTM``, cuDNN behind it in both): <= 1.2x PyTorch's cuDNN LSTM; the loop
  path (native lowering off) is shown beside it;
- bidirectional LSTM training step with Adam, batch 100, time 55, input 2, hidden 128 (the
  model of ``bench/train.py``): <= 1.5x PyTorch;
- MLP 4096-4096-4096-10 inference, batch 1024, float32: >= 70% of the matrix rate PyTorch
  reaches on the card (``torch.matmul`` of a (1024, 4096) by (4096, 4096) product).

Precision: graphc's CUDA sessions run ONNX Runtime with ``use_tf32=0`` (full float32 matrix
products) unless ``GRAPHC_CUDA_TF32=1``; this script sets PyTorch's ``allow_tf32`` flags (matmul
and cuDNN) the same way, so both sides compute at the same precision: full float32 by default,
TF32 for both with ``--tf32``.  The matrix rate is reported with TF32 off and on; the target
compares graphc with the rate at graphc's own precision.  cuDNN's RNN kernels may use TF32 on
Ampere and newer cards whatever the flags say (cuDNN's default math mode); the notes say so.

Run: ``python bench/gpu.py [--rounds 7] [--tf32] [--write FILE]`` on a machine with an NVIDIA
GPU, ``onnxruntime-gpu`` and a CUDA build of torch.  ``--dry-run`` runs everything on the CPU
with tiny sizes (a smoke test; its timings mean nothing).  Exit status: 0, 1 when a correctness
check failed, 2 when no GPU (or no torch) is usable.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from run import Row, measure, table  # noqa: E402  (bench/run.py: the CPU suite's rows and timing)

SIZES = {
    "lstm": (64, 100, 128, 512),
    "bilstm": (100, 55, 2, 128),
    "mlp": (1024, 4096, 4096, 4096, 10),
}
DRY_SIZES = {
    "lstm": (4, 6, 5, 8),
    "bilstm": (4, 5, 2, 6),
    "mlp": (8, 32, 32, 32, 10),
}


@dataclass
class Context:
    """Where and how this run measures."""

    device: str  # graphc's device: 'cuda' or 'cpu' (dry run)
    torch_device: Any
    tf32: bool
    rounds: int
    budget: float
    sizes: dict[str, tuple[int, ...]]
    dry_run: bool
    failures: list[str] = field(default_factory=list)

    @property
    def min_total(self) -> float:
        """Seconds each peer is at least timed for (none in a dry run: its timings mean nothing)."""
        return 0.0 if self.dry_run else 1.0

    @property
    def ort_device(self) -> str:
        return "cuda" if self.device.startswith("cuda") else "cpu"

    def sync(self) -> None:
        import torch

        if self.torch_device.type == "cuda":
            torch.cuda.synchronize()

    def check(self, what: str, got: Any, want: Any, rtol: float, atol: float) -> str:
        """Compare two results; a failure is recorded (exit status 1) and reported, not raised."""
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        err = float(np.max(np.abs(got - want))) if got.size else 0.0
        ok = got.shape == want.shape and bool(np.allclose(got, want, rtol=rtol, atol=atol))
        line = f"check {what}: max |diff| {err:.2e} (rtol {rtol:g}, atol {atol:g}) {'ok' if ok else 'FAILED'}"
        print(line, flush=True)
        if not ok:
            self.failures.append(line)
        return line


class NoGPUError(Exception):
    """No usable GPU (or no CUDA torch): the run cannot measure anything."""


def _tolerances(ctx: Context) -> tuple[float, float]:
    return (1e-2, 1e-3) if ctx.tf32 else (1e-3, 1e-4)


@contextlib.contextmanager
def _default_device(device: str) -> Iterator[None]:
    """Compile graphc functions built by other bench modules on ``device`` (through GRAPHC_DEVICE)."""
    old = os.environ.get("GRAPHC_DEVICE")
    os.environ["GRAPHC_DEVICE"] = device
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("GRAPHC_DEVICE", None)
        else:
            os.environ["GRAPHC_DEVICE"] = old


def _bound_runner(sess: Any, feeds: dict[str, Any], device: str) -> Callable[[], Any]:
    """One IO binding reused for every call: inputs already on the device, outputs left there."""
    binding = sess.io_binding()
    for name, value in feeds.items():
        binding.bind_ortvalue_input(name, value)
    for out in sess.get_outputs():
        binding.bind_output(out.name, device, 0)

    def run() -> Any:
        sess.run_with_iobinding(binding)
        return binding

    return run


def _op_types(model_bytes: bytes) -> set[str]:
    import onnx

    return {n.op_type for n in onnx.load_from_string(model_bytes).graph.node}


# -- configurations ------------------------------------------------------------------------------------------
def lstm_inference(ctx: Context) -> list[Row]:
    """LSTM inference: graphc's native lowering (ONNX LSTM, cuDNN) and loop path against PyTorch's cuDNN LSTM."""
    import onnxruntime as ort
    import recurrent as R
    import torch

    from graphc.runtime import make_session

    sizes = ctx.sizes["lstm"]
    b, t, f, h = sizes
    x = np.random.default_rng(1).normal(size=(b, t, f)).astype(np.float32)
    native_bytes, values = R._graphc_model("lstm", sizes, None)
    loop_bytes, _ = R._graphc_model("lstm", sizes, False)
    notes = []
    if "LSTM" not in _op_types(native_bytes):
        notes.append("native lowering did NOT apply: the default model has no ONNX LSTM op")
    native, where = make_session(native_bytes, ctx.device)
    loop, _ = make_session(loop_bytes, ctx.device)
    cpu, _ = make_session(native_bytes, "cpu")
    net, _ = R._torch_peer("lstm", sizes, values, torch.get_num_threads())
    net = net.to(ctx.torch_device).eval()
    in_name, out_name = native.get_inputs()[0].name, native.get_outputs()[0].name
    x_dev = ort.OrtValue.ortvalue_from_numpy(x, ctx.ort_device, 0)
    xt = torch.from_numpy(x).to(ctx.torch_device)
    run_native = _bound_runner(native, {in_name: x_dev}, ctx.ort_device)
    run_loop = _bound_runner(loop, {in_name: x_dev}, ctx.ort_device)

    def torch_lstm() -> Any:
        with torch.inference_mode():
            y = net(xt)[0]
        ctx.sync()
        return y

    rtol, atol = _tolerances(ctx)
    (want,) = cpu.run([out_name], {in_name: x})
    ctx.check(f"LSTM {sizes} graphc {where} vs graphc cpu", run_native().get_outputs()[0].numpy(), want, rtol, atol)
    ctx.check(f"LSTM {sizes} graphc loop path {where} vs graphc cpu", run_loop().get_outputs()[0].numpy(), want, rtol, atol)
    ctx.check(f"LSTM {sizes} PyTorch {ctx.torch_device} vs graphc cpu", torch_lstm().cpu().numpy(), want, rtol, atol)
    peers = {"graphc (LSTM op)": run_native, "graphc (loop path)": run_loop, "PyTorch cuDNN": torch_lstm}
    med = measure(peers, ctx.rounds, ctx.budget, min_total=ctx.min_total)
    notes.append(
        f"graphc session providers: {native.get_providers()[0]}; loop path (native lowering off, informational): "
        f"{med['graphc (loop path)'] / med['PyTorch cuDNN']:.2f}x PyTorch; cuDNN RNNs may use TF32 on Ampere+ whatever the flags"
    )
    return [Row(f"LSTM inference {sizes}", med, "PyTorch cuDNN", "<= 1.2x PyTorch", 1.2, graphc="graphc (LSTM op)", notes=notes)]


def _copy_into_torch(params: list[Any], net: Any) -> None:
    """graphc's BiLSTM parameters (bench/train.py's model: two LSTMs, a dense unit) into its PyTorch twin."""
    import torch

    values = [p.get_value() for p in params]

    def lstm(mod: Any, v: list[np.ndarray]) -> None:
        # Lasagne's gates [i, f, c, o] are torch's [i, f, g, o]
        w_in = np.concatenate([v[0], v[3], v[6], v[9]], axis=1)
        w_hid = np.concatenate([v[1], v[4], v[7], v[10]], axis=1)
        bias = np.concatenate([v[2], v[5], v[8], v[11]])
        with torch.no_grad():
            mod.weight_ih_l0.copy_(torch.from_numpy(w_in.T.copy()))
            mod.weight_hh_l0.copy_(torch.from_numpy(w_hid.T.copy()))
            mod.bias_ih_l0.copy_(torch.from_numpy(bias))
            mod.bias_hh_l0.zero_()
        # Lasagne has one bias per gate, torch two (summed): Adam would step both, twice Lasagne's step
        mod.bias_hh_l0.requires_grad_(False)

    lstm(net.fwd, values[:12])
    lstm(net.bwd, values[12:24])
    with torch.no_grad():
        net.dense.weight.copy_(torch.from_numpy(values[24].T.copy()))
        net.dense.bias.copy_(torch.from_numpy(values[25]))


def bilstm_training(ctx: Context) -> list[Row]:
    """Bidirectional LSTM training step with Adam against PyTorch (cuDNN LSTMs, torch.optim.Adam)."""
    import onnxruntime as ort
    import torch
    import train as TR

    from graphc.runtime import memcpy_nodes

    b, t, f, h = ctx.sizes["bilstm"]
    with _default_device(ctx.device):
        g_step, g_params = TR._graphc_lstm(h)
    with _default_device("cpu"):
        c_step, c_params = TR._graphc_lstm(h)  # the same seed: the same initial weights
    t_step, net = TR._torch_lstm(h)
    _copy_into_torch(g_params, net)
    net.to(ctx.torch_device)  # in place: the optimizer keeps the same parameters
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(b, t, f)).astype(np.float32), rng.normal(size=(b,)).astype(np.float32)) for _ in range(3)]
    rtol, atol = _tolerances(ctx)
    g_loss, c_loss, t_loss = [], [], []
    for x, y in batches:
        g_loss.append(float(g_step(x, y)))
        c_loss.append(float(c_step(x, y)))
        t_loss.append(float(t_step(torch.from_numpy(x).to(ctx.torch_device), torch.from_numpy(y).to(ctx.torch_device)).item()))
    ctx.check(f"BiLSTM training (Adam) 3 steps: graphc {g_step.device} vs graphc cpu, losses", g_loss, c_loss, rtol, atol)
    ctx.check(
        f"BiLSTM training (Adam) 3 steps: graphc {g_step.device} vs graphc cpu, parameters",
        np.concatenate([p.get_value().ravel() for p in g_params]),
        np.concatenate([p.get_value().ravel() for p in c_params]), rtol, atol,
    )
    ctx.check(f"BiLSTM training (Adam) 3 steps: PyTorch {ctx.torch_device} vs graphc cpu, losses", t_loss, c_loss, 5 * rtol, 5 * atol)
    x, y = batches[0]
    x_dev = ort.OrtValue.ortvalue_from_numpy(x, ctx.ort_device, 0)
    y_dev = ort.OrtValue.ortvalue_from_numpy(y, ctx.ort_device, 0)
    xt, yt = torch.from_numpy(x).to(ctx.torch_device), torch.from_numpy(y).to(ctx.torch_device)

    def torch_step() -> Any:
        loss = t_step(xt, yt)
        ctx.sync()
        return loss

    med = measure({"graphc": lambda: g_step.run_device(x_dev, y_dev), "PyTorch": torch_step}, ctx.rounds, ctx.budget * 2, min_total=ctx.min_total)
    copies = memcpy_nodes(g_step)
    state = [var._storage() for var, _ in g_step.updates]
    on_device = sum(getattr(v, "device_name", lambda: "host")().lower() == ctx.ort_device for v in state)
    notes = [
        f"graphc providers {g_step.providers[0]}; {on_device}/{len(state)} state values on {ctx.ort_device} after the steps; "
        f"Memcpy nodes in the step: {len(copies)}" + (f" ({', '.join(copies[:4])}{', ...' if len(copies) > 4 else ''})" if copies else "")
    ]
    return [Row(f"BiLSTM training step, Adam, (batch, time, in, hidden) {ctx.sizes['bilstm']}", med, "PyTorch", "<= 1.5x PyTorch", 1.5, notes=notes)]


def mlp_inference(ctx: Context) -> list[Row]:
    """MLP inference against the matrix rate torch.matmul reaches (TF32 off and on) and a PyTorch MLP."""
    import onnxruntime as ort
    import torch

    import graphc
    import graphc.tensor as T
    from graphc.layers import DenseLayer, InputLayer, get_all_param_values, get_output

    batch, n_in, h1, h2, n_out = ctx.sizes["mlp"]
    graphc.random.set_rng(np.random.RandomState(0))
    l_in = InputLayer((None, n_in))
    out = DenseLayer(DenseLayer(DenseLayer(l_in, h1), h2), n_out, nonlinearity=T.nnet.softmax)
    expr = get_output(out, deterministic=True)
    g = graphc.function([l_in.input_var], expr, device=ctx.device)
    cpu = graphc.function([l_in.input_var], expr, device="cpu")
    values = get_all_param_values(out)
    layers: list[Any] = []
    for i in range(3):
        lin = torch.nn.Linear(values[2 * i].shape[0], values[2 * i].shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(values[2 * i].T.copy()))
            lin.bias.copy_(torch.from_numpy(values[2 * i + 1]))
        layers += [lin, torch.nn.ReLU()] if i < 2 else [lin, torch.nn.Softmax(dim=1)]
    net = torch.nn.Sequential(*layers).to(ctx.torch_device).eval()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, n_in)).astype(np.float32)
    x_dev = ort.OrtValue.ortvalue_from_numpy(x, ctx.ort_device, 0)
    xt = torch.from_numpy(x).to(ctx.torch_device)
    a = torch.from_numpy(rng.normal(size=(batch, h1)).astype(np.float32)).to(ctx.torch_device)
    w = torch.from_numpy((rng.normal(size=(h1, h2)) / np.sqrt(h1)).astype(np.float32)).to(ctx.torch_device)
    matmul_flags = torch.backends.cuda.matmul

    def torch_mlp() -> Any:
        with torch.inference_mode():
            y = net(xt)
        ctx.sync()
        return y

    def matmul(tf32: bool) -> Callable[[], Any]:
        def run() -> Any:
            matmul_flags.allow_tf32 = tf32
            try:
                y = torch.matmul(a, w)
                ctx.sync()
            finally:
                matmul_flags.allow_tf32 = ctx.tf32
            return y

        return run

    rtol, atol = _tolerances(ctx)
    want = cpu(x)
    ctx.check(f"MLP {ctx.sizes['mlp']} graphc {g.device} vs graphc cpu", g.run_device(x_dev).numpy(), want, rtol, atol)
    ctx.check(f"MLP {ctx.sizes['mlp']} PyTorch {ctx.torch_device} vs graphc cpu", torch_mlp().cpu().numpy(), want, rtol, atol)
    peers = {
        "graphc": lambda: g.run_device(x_dev),
        "PyTorch MLP": torch_mlp,
        "torch.matmul fp32": matmul(False),
        "torch.matmul TF32": matmul(True),
    }
    med = measure(peers, ctx.rounds, ctx.budget, min_total=ctx.min_total)
    flops = {
        "graphc": 2 * batch * (n_in * h1 + h1 * h2 + h2 * n_out),
        "PyTorch MLP": 2 * batch * (n_in * h1 + h1 * h2 + h2 * n_out),
        "torch.matmul fp32": 2 * batch * h1 * h2,
        "torch.matmul TF32": 2 * batch * h1 * h2,
    }
    rate = {k: flops[k] / med[k] / 1e12 for k in med}  # TFLOP/s
    per = {k: 1 / (rate[k] * 1e3) for k in med}  # seconds per GFLOP: <= 1/0.7 of the reference means >= 70 % of its rate
    reference = "torch.matmul TF32" if ctx.tf32 else "torch.matmul fp32"
    from graphc.runtime import cuda_provider_options

    ort_tf32 = cuda_provider_options()["use_tf32"]
    row = Row(
        f"MLP {n_in}-{h1}-{h2}-{n_out} inference (batch {batch})", per, reference,
        f">= 70% of the {reference} rate", 1 / 0.7, unit="s/TFLOP",
    )
    row.notes.append(
        ", ".join(f"{k} {v:.2f} TFLOP/s" for k, v in rate.items())
        + f": graphc reaches {rate['graphc'] / rate[reference]:.0%} of the {reference} rate; "
        f"ONNX Runtime use_tf32={ort_tf32}, PyTorch allow_tf32={ctx.tf32}"
    )
    return [row]


# -- the report ------------------------------------------------------------------------------------------------
def card(ctx: Context) -> str:
    """The GPU's name (PyTorch, nvidia-smi), or the CPU's for a dry run; and the software versions."""
    import onnxruntime as ort
    import torch

    import graphc

    if ctx.torch_device.type == "cuda":
        name = torch.cuda.get_device_name(ctx.torch_device)
        smi = shutil.which("nvidia-smi")
        if smi:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                out = subprocess.run(
                    [smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                    capture_output=True, text=True, timeout=20, check=False,
                ).stdout.strip().splitlines()
                if out:
                    name = f"{out[0]} (nvidia-smi)"
        cuda = f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
    else:
        name = f"CPU only (dry run): {platform.processor() or platform.machine()}"
        cuda = "no CUDA"
    return (
        f"{name}; {cuda}; Python {platform.python_version()}, graphc {graphc.__version__}, "
        f"onnxruntime {ort.__version__}, torch {torch.__version__}"
    )


def write_section(path: Path, text: str) -> None:
    """Replace the ``## GPU`` section of a markdown file (up to the next ``## `` heading), or append it."""
    from graphc.export.io import atomic_write_bytes

    old = path.read_text() if path.exists() else ""
    section = text.rstrip() + "\n"
    match = re.search(r"^## GPU\b.*?(?=^## |\Z)", old, flags=re.S | re.M)
    if match:
        new = old[: match.start()] + section + ("\n" if old[match.end():] else "") + old[match.end():]
    else:
        new = old + ("\n" if old and not old.endswith("\n\n") else "") + section
    atomic_write_bytes(path, new.encode())


def setup(args: argparse.Namespace) -> Context:
    """The context of this run; :class:`NoGPUError` when there is nothing to measure on."""
    try:
        import torch
    except ImportError:
        raise NoGPUError("torch is not installed: pip install torch (a CUDA build) to compare against PyTorch") from None
    os.environ["GRAPHC_CUDA_TF32"] = "1" if args.tf32 else "0"
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    if args.dry_run:
        return Context("cpu", torch.device("cpu"), args.tf32, 1, 0.01, dict(DRY_SIZES), True)
    import graphc.runtime

    if not graphc.runtime.cuda_usable():
        raise NoGPUError(f"ONNX Runtime's CUDA provider cannot run here: {graphc.runtime.cuda_unusable_reason()}")
    if not torch.cuda.is_available():
        raise NoGPUError(f"torch {torch.__version__} cannot use a GPU here (a CPU-only build, or no driver it can use)")
    torch.backends.cudnn.benchmark = False
    return Context("cuda", torch.device("cuda", 0), args.tf32, args.rounds, args.budget, dict(SIZES), False)


SECTIONS: dict[str, Callable[[Context], list[Row]]] = {
    "lstm": lstm_inference,
    "bilstm": bilstm_training,
    "mlp": mlp_inference,
}


def main(argv: list[str] | None = None) -> int:
    """Run the checks and the timings, print the table; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="Without a usable GPU the run stops with exit status 2.")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds per configuration (default 7)")
    ap.add_argument("--budget", type=float, default=0.2, help="seconds per timed block (default 0.2)")
    ap.add_argument("--tf32", action="store_true", help="TF32 matrix products in both graphc (GRAPHC_CUDA_TF32=1) and PyTorch")
    ap.add_argument("--only", default="", help="comma-separated configurations: " + ", ".join(SECTIONS))
    ap.add_argument("--write", type=Path, default=None, help='replace (or append) the "## GPU" section of this markdown file')
    ap.add_argument("--dry-run", action="store_true", help="everything on the CPU with tiny sizes (a smoke test, timings meaningless)")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.budget <= 0:
        ap.error(f"--rounds must be >= 1 and --budget > 0, got {args.rounds} and {args.budget}")
    wanted = [s for s in filter(None, (w.strip() for w in args.only.split(",")))] or list(SECTIONS)
    unknown = sorted(set(wanted) - set(SECTIONS))
    if unknown:
        ap.error(f"--only: unknown configuration(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    try:
        ctx = setup(args)
    except NoGPUError as exc:
        print(f"bench/gpu.py: no GPU to measure on: {exc}. (--dry-run runs the script on the CPU with tiny sizes.)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    rows: list[Row] = []
    for name in wanted:
        rows += SECTIONS[name](ctx)
    header = (
        f"Measured {datetime.date.today().isoformat()} by `python bench/gpu.py{' --tf32' if ctx.tf32 else ''}"
        f"{' --dry-run' if ctx.dry_run else ''}` ({ctx.rounds} rounds, medians, "
        f"{time.perf_counter() - start:.0f} s) on {card(ctx)}; "
        f"{'TF32 on in both' if ctx.tf32 else 'full float32 in both (TF32 off)'}."
    )
    lines = table(rows)
    print(header)
    print("\n".join(lines))
    if ctx.failures:
        print(f"{len(ctx.failures)} correctness check(s) FAILED:\n" + "\n".join(ctx.failures))
    if args.write:
        doc = (
            "## GPU\n\nWritten by `bench/gpu.py`: graphc on ONNX Runtime's CUDA provider (IO binding, inputs and outputs "
            "on the device) against PyTorch CUDA on the same card, peers interleaved, medians, every call "
            "synchronized; each configuration was checked against graphc on the CPU and PyTorch first.\n\n"
            + header + "\n\n" + "\n".join(lines) + "\n"
        )
        if ctx.failures:
            doc += "\nCorrectness checks that FAILED:\n\n" + "\n".join(f"- {f}" for f in ctx.failures) + "\n"
        write_section(args.write, doc)
        print(f"wrote the GPU section of {args.write}")
    return 1 if ctx.failures else 0


if __name__ == "__main__":
    sys.exit(main())
