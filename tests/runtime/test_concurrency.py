"""Compiled functions called from several threads: correct results, serialized shared-variable updates."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import graphc
import graphc.tensor as T
from graphc.layers import InputLayer, LSTMLayer, get_output


def test_a_pure_function_from_many_threads_gives_each_caller_its_own_result():
    graphc.random.set_rng(np.random.RandomState(0))
    l_in = InputLayer((None, None, 3))
    layer = LSTMLayer(l_in, 4)
    f = graphc.function([l_in.input_var], get_output(layer))
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(1 + k % 3, 2 + k % 5, 3)).astype(np.float32) for k in range(40)]
    want = [f(x) for x in xs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(f, xs))
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_updates_from_many_threads_are_serialized():
    """Every increment lands exactly once, also when two functions update the same variable."""
    count = graphc.shared(np.float64(0.0), name="count", dtype="float64")
    total = graphc.shared(np.zeros(3), name="total", dtype="float64")
    x = T.vector("x", dtype="float64")
    add_one = graphc.function([], count, updates=[(count, count + 1)])
    add_both = graphc.function([x], count, updates=[(count, count + 1), (total, total + x)])
    n_threads, per_thread = 8, 50

    def work(k: int) -> None:
        for i in range(per_thread):
            if (i + k) % 2:
                add_one()
            else:
                add_both(np.array([1.0, k, i]))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count.get_value() == n_threads * per_thread
    both = [(k, i) for k in range(n_threads) for i in range(per_thread) if not (i + k) % 2]
    np.testing.assert_allclose(total.get_value(), [len(both), sum(k for k, _ in both), sum(i for _, i in both)])


def test_set_value_and_get_value_from_other_threads_see_whole_updates():
    w = graphc.shared(np.zeros((64, 64)), name="w", dtype="float64")
    step = graphc.function([], [], updates=[(w, w + 1.0)])
    stop = threading.Event()
    seen: list[float] = []

    def reader() -> None:
        while not stop.is_set():
            v = w.get_value()
            assert np.all(v == v.flat[0])  # never half an update
            seen.append(float(v.flat[0]))

    t = threading.Thread(target=reader)
    t.start()
    for _ in range(200):
        step()
    stop.set()
    t.join()
    assert w.get_value()[0, 0] == 200 and seen == sorted(seen)
