"""LSTM and GRU inference: graphc's exported models on ONNX Runtime against PyTorch eager and
torch.onnx's export on ONNX Runtime, measured in one run, interleaved, medians quoted.

Configurations (batch, time, input, hidden): (32, 100, 64, 256) and (1, 20, 32, 32).
graphc runs at its default optimization level and with native RNN lowering switched off
(the Loop path every mask with holes and every non-standard cell takes).  Every peer gets
the same weights and input, and the outputs are checked against each other first.

Run: ``python bench/recurrent.py [--threads 2] [--rounds 15] [--quick]`` (needs torch).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime as ort

import graphc
from graphc.export import to_onnx
from graphc.layers import GRULayer, InputLayer, LSTMLayer


def _session(model_bytes: bytes, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, sess_options=so, providers=["CPUExecutionProvider"])


def _graphc_model(kind: str, sizes: tuple[int, int, int, int], native: bool | None) -> tuple[bytes, list[np.ndarray]]:
    b, t, f, h = sizes
    graphc.random.set_rng(np.random.RandomState(0))
    l_in = InputLayer((None, None, f), name="x")
    if kind == "lstm":
        layer = LSTMLayer(l_in, h, peepholes=False)
    else:
        layer = GRULayer(l_in, h)
    passes = {} if native is None else {"native_rnn": native}
    try:
        model = to_onnx({"y": layer}, optimize="O2", passes=passes)
    except ValueError:  # no native_rnn pass in this build: the default pipeline
        model = to_onnx({"y": layer}, optimize="O2")
    return model.SerializeToString(), graphc.layers.get_all_param_values(layer)


def _torch_peer(kind: str, sizes: tuple[int, int, int, int], values: list[np.ndarray], threads: int) -> tuple[Any, bytes]:
    import torch

    torch.set_num_threads(threads)
    b, t, f, h = sizes
    if kind == "lstm":
        net = torch.nn.LSTM(f, h, batch_first=True)
        w_in = np.concatenate([values[0], values[3], values[6], values[9]], axis=1)  # [i, f, c, o]
        w_hid = np.concatenate([values[1], values[4], values[7], values[10]], axis=1)
        bias = np.concatenate([values[2], values[5], values[8], values[11]])
        # torch's gate order is [i, f, g, o]: the same as Lasagne's [i, f, c, o]
        net.weight_ih_l0.data = torch.from_numpy(w_in.T.copy())
        net.weight_hh_l0.data = torch.from_numpy(w_hid.T.copy())
        net.bias_ih_l0.data = torch.from_numpy(bias.copy())
        net.bias_hh_l0.data.zero_()
    else:
        net = torch.nn.GRU(f, h, batch_first=True)
        # Lasagne [r, u, c] -> torch [r, z, n]: torch's h' = (1 - z) n + z h, Lasagne's (1 - u) h + u c,
        # so z = 1 - u = sigmoid(-a_u): the update gate's weights and bias change sign.  torch's
        # n = tanh(x W_in + b_in + r * (h W_hn)) is Lasagne's hidden update (reset after the matmul).
        w_in = np.concatenate([values[0], -values[3], values[6]], axis=1)
        w_hid = np.concatenate([values[1], -values[4], values[7]], axis=1)
        bias = np.concatenate([values[2], -values[5], values[8]])
        net.weight_ih_l0.data = torch.from_numpy(w_in.T.copy())
        net.weight_hh_l0.data = torch.from_numpy(w_hid.T.copy())
        net.bias_ih_l0.data = torch.from_numpy(bias.copy())
        net.bias_hh_l0.data.zero_()
    net.eval()
    x = torch.zeros(b, t, f)
    buf = io.BytesIO()
    torch.onnx.export(
        net, (x,), buf, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False,
        dynamic_axes={"x": {0: "batch", 1: "time"}, "y": {0: "batch", 1: "time"}},
    )
    return net, buf.getvalue()


def _time(fn: Callable[[], Any], reps: int) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="a short pass (3 rounds)")
    args = ap.parse_args()
    rounds = 3 if args.quick else args.rounds
    import torch

    configs = [(32, 100, 64, 256), (1, 20, 32, 32)]
    rows = []
    for kind in ("lstm", "gru"):
        for sizes in configs:
            b, t, f, h = sizes
            x = np.random.default_rng(1).normal(size=(b, t, f)).astype(np.float32)
            default_bytes, values = _graphc_model(kind, sizes, None)
            loop_bytes, _ = _graphc_model(kind, sizes, False)
            net, torch_onnx = _torch_peer(kind, sizes, values, args.threads)
            g_default = _session(default_bytes, args.threads)
            g_loop = _session(loop_bytes, args.threads)
            t_onnx = _session(torch_onnx, args.threads)
            xt = torch.from_numpy(x)

            def run_torch(net: Any = net, xt: Any = xt) -> Any:
                with torch.inference_mode():
                    return net(xt)[0]

            # peers bind their session and input now: they are timed within this iteration
            peers = {
                "graphc": lambda s=g_default, x=x: s.run(None, {"x": x}),
                "graphc (Loop path)": lambda s=g_loop, x=x: s.run(None, {"x": x}),
                "torch.onnx on ORT": lambda s=t_onnx, x=x: s.run(None, {"x": x}),
                "PyTorch eager": run_torch,
            }
            ref = run_torch().numpy()
            for name in ("graphc", "graphc (Loop path)", "torch.onnx on ORT"):
                np.testing.assert_allclose(peers[name]()[0], ref, rtol=1e-3, atol=1e-4, err_msg=name)
            one = _time(peers["graphc"], 1)
            reps = max(1, min(50, int(0.2 / max(one, 1e-6))))
            times: dict[str, list[float]] = {k: [] for k in peers}
            for fn in peers.values():
                _time(fn, reps)  # warm-up
            for _ in range(rounds):
                for name, fn in peers.items():
                    times[name].append(_time(fn, reps))
            med = {k: statistics.median(v) for k, v in times.items()}
            rows.append((kind, sizes, med))

    print(f"# recurrent inference, {args.threads} threads, {rounds} rounds, medians "
          f"({platform.machine()}, {os.cpu_count()} cpus, onnxruntime {ort.__version__}, torch {torch.__version__}, "
          f"numpy {np.__version__})")
    print(f"{'cell':<5}{'(B, T, F, H)':<20}{'peer':<22}{'ms':>9}{'vs torch.onnx':>15}{'vs eager':>10}")
    for kind, sizes, med in rows:
        base, eager = med["torch.onnx on ORT"], med["PyTorch eager"]
        for name, t in med.items():
            print(f"{kind:<5}{str(sizes):<20}{name:<22}{t * 1e3:>9.3f}{t / base:>15.2f}{t / eager:>10.2f}")


if __name__ == "__main__":
    main()
