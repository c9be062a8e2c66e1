"""``graphc export TARGET -o model.onnx``: export what a Python callable builds, and say what the passes did."""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import Any

from .errors import CLIError
from .inputs import split_assignment
from .target import ExportParts, export_parts, load_target

__all__ = [
    "add_export_parser", "cmd_export", "parse_input_shapes", "with_input_shapes", "training_contract_text",
    "stages_contract_text",
]  # fmt: skip


def parse_input_shapes(items: list[str] | None) -> dict[str, tuple[int | None, ...]]:
    """``['x=1,20,32', 'mask=?,20']`` -> ``{'x': (1, 20, 32), 'mask': (None, 20)}`` (``?`` or ``None``: dynamic).

    Raises
    ------
    CLIError
        For an item that is not ``NAME=D1,D2,...`` with positive integer or ``?`` entries.
    """
    shapes: dict[str, tuple[int | None, ...]] = {}
    for item in items or []:
        name, dims = split_assignment(item, "--input-shape expects NAME=D1,D2,... (use ? for a dynamic size)")
        parsed: list[int | None] = []
        for d in dims.split(",") if dims else []:
            d = d.strip()
            if d in ("?", "None", "none", ""):
                parsed.append(None)
                continue
            try:
                size = int(d)
            except ValueError:
                raise CLIError(f"--input-shape {name}: {d!r} is not a size (an integer, or ? for dynamic)") from None
            if size < 1:
                raise CLIError(f"--input-shape {name}: sizes must be positive, got {size}")
            parsed.append(size)
        shapes[name] = tuple(parsed)
    return shapes


def with_input_shapes(parts: ExportParts, shapes: dict[str, tuple[int | None, ...]]) -> ExportParts:
    """``parts`` with the named inputs replaced by placeholders of the given (more static) shapes.

    Raises
    ------
    CLIError
        For an unknown input name, a rank that differs, or a size that contradicts a static one.
    """
    if not shapes:
        return parts
    from .. import tensor as T
    from ..ir.build import input_name
    from ..tensor.clone import clone

    by_name = {input_name(v): v for v in parts.inputs}
    unknown = sorted(set(shapes) - set(by_name))
    if unknown:
        raise CLIError(f"--input-shape: unknown input(s) {unknown}; the inputs are {sorted(n for n in by_name if n)}")
    replace = {}
    for name, dims in shapes.items():
        old = by_name[name]
        if len(dims) != old.ndim:
            raise CLIError(f"--input-shape {name}: {len(dims)} sizes given, but {name} has {old.ndim} dimensions {old.type}")
        for axis, (want, have) in enumerate(zip(dims, old.type.shape)):
            if want is not None and isinstance(have, int) and want != have:
                raise CLIError(f"--input-shape {name}: axis {axis} is {have} in the model, not {want}")
        merged = [w if w is not None else (h if isinstance(h, int) else None) for w, h in zip(dims, old.type.shape)]
        replace[old] = T.tensor(old.dtype, shape=merged, name=name)
    try:
        news = clone([v for v, _ in parts.outputs] + [new for _, new in parts.updates], replace)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"--input-shape: the graph does not accept these shapes: {exc}") from None
    n = len(parts.outputs)
    outputs = [(v, name) for v, (_, name) in zip(news[:n], parts.outputs)]
    updates = [(var, new) for new, (var, _) in zip(news[n:], parts.updates)]
    inputs = [replace.get(v, v) for v in parts.inputs]
    return ExportParts(outputs, inputs, updates, parts.kind)


def _passes(args: argparse.Namespace) -> dict[str, bool]:
    from ..passes.manager import PHASES

    known = {p.name for phase in PHASES.values() for p in phase}
    switches: dict[str, bool] = {}
    for name, on in [(n, True) for n in args.enable or []] + [(n, False) for n in args.disable or []]:
        if name not in known:
            raise CLIError(f"unknown pass {name!r}; passes are {', '.join(sorted(known))}")
        switches[name] = on
    if args.native_rnn is not None:
        switches["native_rnn"] = args.native_rnn
    if args.unroll == "never":
        switches["unroll"] = False
    elif args.unroll == "always":
        switches["unroll"] = True
    return switches


@contextlib.contextmanager
def _stage(bar: Any, label: str) -> Any:
    if bar is not None:
        bar.set_description(label)
    yield
    if bar is not None:
        bar.update(1)


def training_contract_text(model: Any, state: dict[str, Any], state_path: Path) -> str:
    """What a client of an exported training step needs: inputs, outputs, and the state fed back each step."""
    import json

    from ..export.training import METADATA_KEY

    contract = json.loads(next(p.value for p in model.metadata_props if p.key == METADATA_KEY))
    shapes = {vi.name: _shape_of(vi) for vi in model.graph.input}
    lines = [
        f"training contract (also in the model's metadata {METADATA_KEY!r}, see docs/training-contract.md):",
        "  data inputs: " + ", ".join(f"{n} {shapes.get(n, '')}" for n in contract["data_inputs"]),
        "  outputs: " + ", ".join(contract["outputs"]),
        f"  state: {len(state)} arrays in {state_path}; feed each back as its input, updated from its output:",
    ]
    lines += [f"    {n} {shapes.get(n, '')} <- {nxt}" for n, nxt in contract["state"].items()]
    if contract["read_only_state"]:
        lines.append("  read-only state (fed unchanged): " + ", ".join(contract["read_only_state"]))
    return "\n".join(lines)


def stages_contract_text(stages: Any, state: dict[str, Any], paths: list[Path], state_path: Path) -> str:
    """What a client of an exported step with collectives needs: each model, the all-reduces between them, the state."""
    from ..export.training import METADATA_KEY

    contract = stages.contract
    lines = [
        f"training contract: a step with collectives, written as {len(paths)} models with an all-reduce between "
        f"each two (also in each model's metadata {METADATA_KEY!r}, see docs/training-contract.md):",
    ]
    for k, (model, path, stage) in enumerate(zip(stages.models, paths, contract["stages"])):
        shapes = {vi.name: _shape_of(vi) for vi in [*model.graph.input, *model.graph.output]}
        lines.append(f"  {k + 1}. {path.name} ({stage['role']})")
        lines.append("     inputs: " + ", ".join(f"{i.name} {shapes[i.name]}" for i in model.graph.input))
        lines.append("     outputs: " + ", ".join(o.name for o in model.graph.output))
        if k < len(contract["allreduce"]):
            lines.append("     then all-reduce across the ranks (sum; mean: then divide by the number of ranks), "
                         "in this order, and feed each under its name to the next model:")  # fmt: skip
            for entry in contract["allreduce"][k]:
                lines.append(f"       {entry['name']} {entry['dtype']} {shapes[entry['name']]}: {entry['op']}")
    if contract["carried"]:
        lines.append("  carried unchanged to the later models: " + ", ".join(contract["carried"]))
    lines.append("  outputs of the step: " + ", ".join(contract["outputs"]))
    lines.append(f"  state: {len(state)} arrays in {state_path}; feed each back as its input, updated from its output:")
    inputs = {vi.name: _shape_of(vi) for model in stages.models for vi in model.graph.input}
    lines += [f"    {n} {inputs.get(n, '')} <- {nxt}" for n, nxt in contract["state"].items()]
    if contract["read_only_state"]:
        lines.append("  read-only state (fed unchanged): " + ", ".join(contract["read_only_state"]))
    return "\n".join(lines)


def _shape_of(vi: Any) -> str:
    dims = [d.dim_param or str(d.dim_value) if (d.dim_param or d.HasField("dim_value")) else "?"
            for d in vi.type.tensor_type.shape.dim]  # fmt: skip
    return "(" + ", ".join(dims) + ")"


def cmd_export(args: argparse.Namespace) -> int:
    """``graphc export``: build, optimize, lower, check, write; print a summary."""
    from ..export.atomic import check_writable
    from ..export.io import save
    from ..export.model import to_onnx
    from ..export.training import TrainingStages, save_training, training_model
    from ..passes.unroll import unroll_limits
    from ..theanets.trainer import progress_enabled
    from .check import check_model
    from .info import describe_model

    if args.output.suffix != ".onnx":
        raise CLIError(f"-o/--output must name an .onnx file, got {args.output}")
    if not args.output.parent.is_dir():
        raise CLIError(f"-o/--output: folder {args.output.parent} does not exist")
    check_writable(args.output)  # a FIFO, a device or a folder there: refused before the export's work
    bar = None
    if progress_enabled(args.progress):
        from tqdm import tqdm

        bar = tqdm(total=4, unit="stage", leave=False)
    start = time.perf_counter()
    try:
        with _stage(bar, "building"):
            obj = load_target(args.target)
            parts = export_parts(obj, args.training, args.algo, args.learning_rate, args.loss)
            parts = with_input_shapes(parts, parse_input_shapes(args.input_shape))
        level, switches = args.level or None, _passes(args)
        limits = unroll_limits(None) if args.unroll == "always" else contextlib.nullcontext()
        with _stage(bar, "optimizing and lowering"), limits:
            outputs = dict((name, v) for v, name in parts.outputs)
            try:
                if args.training:
                    model, state, report = training_model(
                        parts.inputs, outputs, parts.updates, opset=args.opset, optimize=level, passes=switches,
                        return_report=True, loop_op=args.loop_op,
                    )  # fmt: skip
                else:
                    model, report = to_onnx(
                        outputs, parts.inputs, opset=args.opset, optimize=level, passes=switches, return_report=True,
                        target=args.runs_on, loop_op=args.loop_op,
                    )
            except (TypeError, ValueError) as exc:
                raise CLIError(f"cannot export {args.target}: {exc}") from exc
        staged = isinstance(model, TrainingStages)
        if staged:
            for path in model.paths(args.output):
                check_writable(path)
        with _stage(bar, "writing"):
            if args.training:
                written, state_path = save_training(model, state, args.output)
            else:
                written, state_path = save(model, args.output), None
        models = list(zip(model.models, written)) if staged else [(model, written)]
        checked = []
        with _stage(bar, "checking"):
            if args.check:
                checked = [check_model(m, str(p), sizes={}, seed=0, rtol=1e-4, atol=1e-5) for m, p in models]
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - start
    print(f"exported {parts.kind} from {args.target} in {elapsed:.2f} s")
    for m, p in models:
        print(describe_model(m, str(p)))
    if staged:
        print(stages_contract_text(model, state, written, state_path))
    elif state_path is not None:
        print(training_contract_text(model, state, state_path))
    print(f"passes ({report.nodes_before} -> {report.nodes_after} IR nodes):")
    changed = {k: v for k, v in report.changes.items() if v}
    for name, count in report.changes.items():
        print(f"  {name:<22}{count} change(s)" if count else f"  {name:<22}-")
    if not changed:
        print("  (nothing changed)")
    for result in checked:
        print(result.summary())
    return 0 if all(result.ok for result in checked) else 1


def add_export_parser(sub: Any) -> None:
    """The ``export`` sub-command's arguments."""
    p = sub.add_parser(
        "export",
        help="export a network built by a Python callable to ONNX",
        description=(
            "Export what TARGET builds: TARGET is module:callable or path/to/file.py:callable, a function taking no "
            "arguments that returns an output layer, a list of output layers, a theanets Network, or a compiled "
            "graphc.function."
        ),
    )
    p.add_argument("target", metavar="TARGET", help="module:callable or path/to/file.py:callable")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .onnx file to write (atomically)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset, 17..21 (default 18)")
    p.add_argument("--training", action="store_true",
                   help="write the training-step model and its initial state (<output>.state.npz); a step with "
                        "collectives (graphc.distributed.mean/sum) is written as <output>.gradients.onnx and "
                        "<output>.apply.onnx, to run with the client's own all-reduce between them")  # fmt: skip
    p.add_argument("--algo", default="adam",
                   help="optimizer of the training step: a theanets algorithm for a network, a lasagne.updates rule "
                        "for layers (default adam)")  # fmt: skip
    p.add_argument("--learning-rate", type=float, default=None, help="its learning rate (default: the algorithm's)")
    p.add_argument("--loss", default=None,
                   help="for layers: the Lasagne objective trained on, with a target input named 'target' "
                        "(squared_error, binary_crossentropy, categorical_crossentropy (class indices), ...)")  # fmt: skip
    levels = p.add_mutually_exclusive_group()
    for lv in ("O0", "O1", "O2"):
        levels.add_argument(f"-{lv}", dest="level", action="store_const", const=lv, help=f"optimization level {lv}")
    p.add_argument("--enable", action="append", metavar="PASS", help="switch a pass on (repeatable)")
    p.add_argument("--disable", action="append", metavar="PASS", help="switch a pass off (repeatable)")
    p.add_argument("--unroll", choices=("auto", "never", "always"), default="auto",
                   help="unroll loops with a static step count: auto (short ones), never, always")  # fmt: skip
    p.add_argument("--native-rnn", dest="native_rnn", action="store_true", default=None,
                   help="lower proven LSTM/GRU loops to ONNX LSTM/GRU (default at -O2)")  # fmt: skip
    p.add_argument("--no-native-rnn", dest="native_rnn", action="store_false", help="keep every recurrence a loop")
    p.add_argument("--runs-on", dest="runs_on", choices=("any", "cpu", "cuda"), default="any",
                   help="where the model will run: any (portable; LSTMs with peepholes stay loops), cpu "
                        "(ONNX Runtime's CPU kernels: peephole LSTMs lowered too), cuda")  # fmt: skip
    p.add_argument("--loop-op", dest="loop_op", choices=("scan", "loop"), default="scan",
                   help="the ONNX op recurrences over sequences become: scan (default, faster on ONNX Runtime) or "
                        "loop (ONNX Loop with Gather per step; also runs zero-length sequences)")  # fmt: skip
    p.add_argument("--input-shape", action="append", metavar="NAME=D1,D2,...",
                   help="fix an input's sizes (? keeps one dynamic), e.g. x=1,20,32")  # fmt: skip
    p.add_argument("--check", action="store_true", help="check the written model (as graphc check)")
    p.add_argument("--progress", dest="progress", action="store_true", default=None, help="show a progress bar")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(func=cmd_export)
