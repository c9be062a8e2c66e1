"""Stopping a command: Ctrl-C (SIGINT) and ``--timeout`` stop ONNX Runtime runs and ``onnx.reference`` too.

ONNX Runtime runs a model in C++ without looking at Python's signal flags, so a
``Loop`` whose condition stays true would run forever and Ctrl-C would do nothing.
Here every ONNX Runtime call runs in a worker thread while the main thread waits in
short slices, where Python delivers ``KeyboardInterrupt``; the main thread then sets
``RunOptions.terminate`` (ONNX Runtime checks it between kernels and inside ``Loop``
and ``Scan``) and joins the worker.  A call that still does not return within
:data:`GRACE_S` (a session being created, one enormous kernel) is abandoned: the
command prints its one line and the process exits at once (:func:`os._exit`).

Deadlines (``--timeout``, and the reference step's own limit) fire from a timer
thread by interrupting the main thread (:func:`_thread.interrupt_main`); the SIGINT
handler installed by :class:`Guard` turns that into :class:`TimeoutExpired` for the
deadline that fired, and ignores a deadline that ended before its interrupt arrived.
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Guard", "Deadline", "TimeoutExpired", "call_stoppable", "current_guard", "stage", "GRACE_S"]

GRACE_S = 3.0
"""How long a stopped ONNX Runtime call may take to return before the process exits without it."""

_SLICE_S = 0.1


class TimeoutExpired(BaseException):
    """A deadline passed (a ``BaseException``: ``except Exception`` around user or ONNX code must not swallow it)."""

    def __init__(self, deadline: Deadline) -> None:
        super().__init__(deadline.message())
        self.deadline = deadline


class Deadline:
    """A time limit on part of a command: ``seconds`` from when it is entered, ``label`` says whose limit it is."""

    def __init__(self, guard: Guard, seconds: float, label: str) -> None:
        self.guard = guard
        self.seconds = seconds
        self.label = label
        self.active = False
        self.fired = False
        self._timer: threading.Timer | None = None

    def message(self) -> str:
        doing = f" while {self.guard.stage}" if self.guard.stage else ""
        return f"stopped after {self.seconds:g} s ({self.label}){doing}"

    def _fire(self) -> None:
        with self.guard.lock:
            if not self.active:
                return
            self.fired = True
            self.guard.pending.append(self)
            _thread.interrupt_main(signal.SIGINT)

    def __enter__(self) -> Deadline:
        with self.guard.lock:
            self.active = True
        self._timer = threading.Timer(self.seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self.guard.lock:
            self.active = False
        _drain()


def _drain() -> None:
    """A Python-level call: an interrupt already queued is handled here (and ignored if stale), not later."""
    return None


class Guard:
    """The stopping machinery of one ``graphc`` command (see the module docstring).

    Use as a context manager around the command.  Outside the main thread it only
    keeps the worker-thread calls (signals and deadlines need the main thread).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()  # the SIGINT handler takes it, and may run while the main thread holds it
        self.pending: list[Deadline] = []
        self.stage = ""
        self.abandoned = False
        self.stopped = False  # a Ctrl-C or a deadline ended the command: the process exits at once
        self._old_handler: Any = None
        self._installed = False

    @property
    def can_stop(self) -> bool:
        """Whether deadlines work here (the guard runs in the main thread)."""
        return self._installed

    def _on_sigint(self, signum: int, frame: Any) -> None:
        with self.lock:  # several interrupts before the handler runs arrive as one: take every reason
            reasons, self.pending = self.pending, []
        if not reasons:
            raise KeyboardInterrupt
        for reason in reasons:
            if reason.active:
                raise TimeoutExpired(reason)
        # deadlines that ended before their interrupt was handled: nothing to stop

    def __enter__(self) -> Guard:
        global _current
        if threading.current_thread() is threading.main_thread():
            self._old_handler = signal.signal(signal.SIGINT, self._on_sigint)
            self._installed = True
        self._previous = _current
        _current = self
        return self

    def __exit__(self, *exc: Any) -> None:
        global _current
        _current = self._previous
        _drain()
        if self._installed:
            signal.signal(signal.SIGINT, self._old_handler)
            self._installed = False

    def deadline(self, seconds: float | None, label: str) -> Any:
        """A :class:`Deadline` context (a no-op context when ``seconds`` is None or deadlines cannot work here)."""
        if seconds is None or not self._installed:
            return _nothing()
        return Deadline(self, seconds, label)

    @contextmanager
    def stage_of(self, text: str) -> Iterator[None]:
        """Name what the command is doing (for the timeout message)."""
        before, self.stage = self.stage, text
        try:
            yield
        finally:
            self.stage = before


def _name_os_thread(name: str) -> None:
    """Name the calling thread for the operating system too (Linux ``prctl(PR_SET_NAME)``; elsewhere nothing)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(15, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _finish(worker: threading.Thread) -> None:
    """Let a worker that has handed over its result end (its last Python lines), so that the
    interpreter never shuts down under it."""
    try:
        worker.join(1.0)
    except BaseException:  # interrupted: the thread ends on its own
        pass


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


_current: Guard | None = None


def current_guard() -> Guard | None:
    """The :class:`Guard` of the command running in this process, if any."""
    return _current


def stage(text: str) -> Any:
    """A context naming what the command does (for the timeout message); a no-op without a guard."""
    return _current.stage_of(text) if _current is not None else _nothing()


def call_stoppable(
    fn: Callable[[], Any], stop: Callable[[], None] | None = None, stage: str = "", thread_name: str = "graphc-ort-run"
) -> Any:
    """``fn()`` in a worker thread, the main thread waiting where Ctrl-C and deadlines reach it.

    Parameters
    ----------
    fn : callable
        The work (an ONNX Runtime session creation or run); its result or exception is passed on.
    stop : callable, optional
        Asks ``fn`` to return early (sets ``RunOptions.terminate``); called on Ctrl-C or a deadline.
    stage : str
        What ``fn`` does, for the timeout message.
    thread_name : str
        The worker's name, also given to the operating system's thread (``top -H``, ``/proc/PID/task/*/comm``;
        at most 15 characters there).

    Raises
    ------
    KeyboardInterrupt, TimeoutExpired
        After ``stop()``; if ``fn`` has not returned :data:`GRACE_S` later (at once without
        ``stop``), the guard is marked ``abandoned`` (the command then exits the process at once).
    """
    guard = current_guard()
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        _name_os_thread(thread_name)
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
        finally:
            done.set()

    # The wait is on an Event, not Thread.join: an exception raised inside join() by a signal
    # handler marks a still-running thread as stopped (Python 3.11, bpo-45274's fix).
    worker = threading.Thread(target=work, name=thread_name, daemon=True)
    with guard.stage_of(stage) if guard is not None and stage else _nothing():
        worker.start()
        try:
            while not done.wait(_SLICE_S):
                pass
        except BaseException:
            if stop is not None:
                stop()
            try:  # nothing can stop the call without ``stop``: only a moment, in case it was ending anyway
                done.wait(GRACE_S if stop is not None else _SLICE_S)
            except BaseException:  # a second Ctrl-C: do not wait any longer
                pass
            if not done.is_set():
                if guard is not None:
                    guard.abandoned = True
            else:
                _finish(worker)
            raise
        _finish(worker)
    if "error" in box:
        raise box["error"]
    return box.get("result")
