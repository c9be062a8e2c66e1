"""How one call of a compiled function runs its session: plain, stateful, or through IO binding.

* plain: a function without shared variables hands its inputs straight to the
  session (ONNX Runtime's ``run`` is thread-safe: calls run concurrently);
* stateful: shared variables are fed as the ``OrtValue`` objects they are
  stored as, under their locks, and each update's output ``OrtValue`` becomes
  the variable's value (a read-only function may serve calls from a session
  with its parameters baked in, see :mod:`graphc.runtime.baking`);
* IO binding (on CUDA; ``GRAPHC_IOBINDING=1`` forces it on the CPU, to test
  it): each input is copied to the device once, shared variables are bound
  where they live, and each update is written into one of two device buffers
  the function owns per updated variable, so the state never leaves the
  device and nothing is allocated for it after the first calls.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnxruntime as ort

from ..tensor.shared import SharedVariable
from .arguments import ArgumentSpec
from .baking import ParamBaker, ema
from .state import BOUND_ERRORS, ORT_ERRORS, Held, as_ortvalue, check_updates, free_buffer, state_locks, unalias

__all__ = ["SessionStep", "iobinding_wanted"]


def iobinding_wanted(device: str) -> bool:
    """Whether calls on ``device`` run through IO binding: on CUDA, or when ``GRAPHC_IOBINDING=1``."""
    return device.startswith("cuda") or os.environ.get("GRAPHC_IOBINDING", "").strip() == "1"


class SessionStep:
    """Runs one session per call, with the function's shared variables and updates.

    Parameters
    ----------
    name : str
        The function's name, for error messages.
    session : onnxruntime.InferenceSession
    device : str
        Where the session runs: ``'cpu'`` or ``'cuda:N'``.
    specs : list of ArgumentSpec
        The call arguments, in input order.
    out_names : list of str
        The session outputs: the user's outputs, then the new value of each updated variable.
    n_out : int
        How many of ``out_names`` are the user's outputs.
    shared : list of (str, SharedVariable)
        The session inputs fed from shared variables.
    update_targets : list of SharedVariable
        The updated variables, in the order of their outputs.
    baker : ParamBaker
        Whether and when the parameters are baked (read-only functions on the plain path).

    Attributes
    ----------
    binding : bool
        Whether calls run through IO binding.
    buffers : list of [OrtValue or None, OrtValue or None]
        Per updated variable, the two buffers updates are written into by turns (IO binding).
    errors : tuple of exception types
        What ONNX Runtime raises when the graph fails on particular inputs.
    run : callable
        ``run(arrays, copy)``: one call with converted arguments; the outputs as numpy
        arrays when ``copy``, else as ``OrtValue`` objects where the session runs.
    """

    def __init__(
        self,
        name: str,
        session: ort.InferenceSession,
        device: str,
        specs: Sequence[ArgumentSpec],
        out_names: list[str],
        n_out: int,
        shared: list[tuple[str, SharedVariable]],
        update_targets: list[SharedVariable],
        baker: ParamBaker,
    ) -> None:
        self.name, self.session, self.specs = name, session, list(specs)
        self.out_names, self.n_out = out_names, n_out
        self.shared, self.update_targets, self.baker = shared, update_targets, baker
        self.locks = state_locks([var for _, var in shared] + update_targets)
        self.device_type = "cuda" if device.startswith("cuda") else "cpu"
        self.device_id = int(device.split(":")[1]) if ":" in device else 0
        self._run_plain = session._sess.run  # the C++ binding: no per-call Python wrapper work
        self._run_values = session._sess.run_with_ort_values
        self.binding = iobinding_wanted(device)
        self.buffers: list[list[ort.OrtValue | None]] = [[None, None] for _ in update_targets]
        self.stateful = bool(shared or update_targets)
        # plain CPU path: per shared variable, (stored value, its C-level OrtValue) of the last call
        self._c_values: list[tuple[Any, Any] | None] = [None] * len(shared)
        slot = {id(var): k for k, (_, var) in enumerate(shared)}
        self._update_slot = [slot.get(id(var)) for var in update_targets]
        self.errors = BOUND_ERRORS if self.binding else ORT_ERRORS
        self.run: Callable[[list[Any], bool], list[Any]]
        if self.binding:
            self.run = self._call_bound
        else:
            self.run = self._call_stateful if self.stateful else self._call_plain

    def feed(self, arrays: list[Any]) -> dict[str, ort.OrtValue]:
        """The inputs as OrtValues for a plain (unbound) run: host arrays are wrapped, not copied."""
        feed = {}
        for s, a in zip(self.specs, arrays):
            if type(a) is np.ndarray:
                a = ort.OrtValue.ortvalue_from_numpy(a)
            elif a.device_name().lower() != "cpu":
                a = ort.OrtValue.ortvalue_from_numpy(a.numpy())
            feed[s.onnx_name] = a
        return feed

    def _call_plain(self, arrays: list[Any], copy: bool) -> list[Any]:
        if copy and all(type(a) is np.ndarray for a in arrays):
            return self._run_plain(self.out_names, {s.onnx_name: a for s, a in zip(self.specs, arrays)}, None)
        results = self.session.run_with_ort_values(self.out_names, self.feed(arrays))
        return [r.numpy() for r in results] if copy else list(results)

    def _call_stateful(self, arrays: list[Any], copy: bool) -> list[Any]:
        # straight to the C++ session with C-level OrtValues: the Python wrapper of
        # run_with_ort_values re-validates every input and iterates the result vector, which cost
        # more than the run itself for small graphs (150 us a call with 16 parameters)
        feed = {name: v._get_c_value() for name, v in self.feed(arrays).items()}
        n_out = self.n_out
        cache = self._c_values
        baker = self.baker
        if baker.enabled:
            baked = baker.serves([var._storage() for _, var in self.shared])
            if baked is not None:
                start = time.perf_counter()
                results = baked({s.onnx_name: feed[s.onnx_name] for s in self.specs}, self.out_names, None)
                baker.timing[1] = ema(baker.timing[1], time.perf_counter() - start)
                return [results[i].numpy() if copy else ort.OrtValue(results[i]) for i in range(n_out)]
        with Held(self.locks):
            unchanged = True
            for k, (onnx_name, var) in enumerate(self.shared):
                stored = var._storage()
                hit = cache[k]
                if hit is None or hit[0] is not stored:  # set_value, another function, or the first call
                    unchanged = False
                    ov = as_ortvalue(var, "cpu", 0)
                    hit = cache[k] = (var._storage(), ov._get_c_value())
                feed[onnx_name] = hit[1]
            if baker.enabled:
                baker.observe(unchanged, lambda: [hit[0] for hit in cache])  # type: ignore[index]
            start = time.perf_counter()
            results = self._run_values(feed, self.out_names, None)
            baker.timing[0] = ema(baker.timing[0], time.perf_counter() - start)
            news = [ort.OrtValue(results[i]) for i in range(n_out, len(self.out_names))]
            check_updates(self.name, self.update_targets, news)
            for j, (var, new) in enumerate(zip(self.update_targets, news)):
                var._store(new)
                k = self._update_slot[j]
                if k is not None:  # the next call reads the new value as is
                    cache[k] = (new, results[n_out + j])
        if copy:
            return [results[i].numpy() for i in range(n_out)]
        return [ort.OrtValue(results[i]) for i in range(n_out)]

    def _call_bound(self, arrays: list[Any], copy: bool) -> list[Any]:
        """One run through IO binding: inputs to the device once, state bound where it lives.

        User outputs come back to the host when ``copy`` (ONNX Runtime copies
        them at the end of the run), else stay on the device.  Each update is
        written into whichever of the variable's two buffers it does not hold
        now, so the state is updated on the device without allocating.
        """
        dev, dev_id = self.device_type, self.device_id
        binding = self.session.io_binding()
        keep = []  # the device copies of the inputs live until the run is over
        for s, a in zip(self.specs, arrays):
            if type(a) is np.ndarray:
                a = ort.OrtValue.ortvalue_from_numpy(a, dev, dev_id)  # the one copy of this input
                keep.append(a)
            binding.bind_ortvalue_input(s.onnx_name, a)
        out_dev = "cpu" if copy else dev
        for name in self.out_names[: self.n_out]:
            binding.bind_output(name, out_dev, 0 if out_dev == "cpu" else dev_id)
        if not self.stateful:
            self.session.run_with_iobinding(binding)
            outs = binding.get_outputs()
            return [o.numpy() for o in outs] if copy else list(outs)
        with Held(self.locks):
            inputs = {}
            for onnx_name, var in self.shared:
                value = inputs[onnx_name] = as_ortvalue(var, dev, dev_id)
                binding.bind_ortvalue_input(onnx_name, value)
            targets: list[ort.OrtValue | None] = []
            for var, name, bufs in zip(self.update_targets, self.out_names[self.n_out :], self.buffers):
                target = free_buffer(var, bufs, dev, dev_id)
                if target is None:
                    binding.bind_output(name, dev, dev_id)
                else:
                    binding.bind_ortvalue_output(name, target)
                targets.append(target)
            try:
                self.session.run_with_iobinding(binding)
            except BOUND_ERRORS:
                if all(t is None for t in targets):
                    raise
                # an update of the wrong shape cannot go into its buffer: run once more with
                # ONNX Runtime's own outputs, so that the check below names the culprit
                binding.clear_binding_outputs()
                for i, name in enumerate(self.out_names):
                    binding.bind_output(name, out_dev if i < self.n_out else dev, dev_id if i >= self.n_out or not copy else 0)
                targets = [None] * len(targets)
                self.session.run_with_iobinding(binding)
            results = binding.get_outputs()
            news = [t if t is not None else r for t, r in zip(targets, results[self.n_out :])]
            check_updates(self.name, self.update_targets, news)
            outs = results[: self.n_out]
            if not copy or dev == "cpu":
                outs = unalias(self.buffers, outs)
            for var, new in zip(self.update_targets, news):
                var._store(new)
        return [o.numpy() for o in outs] if copy else list(outs)
