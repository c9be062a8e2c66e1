"""``hoist`` on a loop whose step reads no loop input (every step computes the same value)."""

from __future__ import annotations

import numpy as np

import graphc
import graphc.tensor as T
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.verify import verify
from graphc.passes import hoist
from graphc.passes.base import own_bodies

RNG = np.random.default_rng(10)


def _scan_node(g):
    return next(n for n in g.op_nodes() if g.data(n).op == "scan")


def test_hoist_moves_everything_out_and_keeps_the_loop_length():
    # the step reads only non-sequences: all of its work is loop-invariant; the loop still runs
    # once per element of the sequence it no longer reads (this crashed the pass's second round)
    x, w = T.dvector("x"), T.dmatrix("w")
    out, _ = graphc.scan(lambda i, x_, w_: T.tanh(T.dot(w_, x_)) * 2.0, sequences=T.arange(x.shape[0]), non_sequences=[x, w])
    g = build_graph([(out, "out0")], [x, w])
    feeds = {"x": RNG.normal(size=3), "w": RNG.normal(size=(4, 3))}
    before = evaluate(g, feeds)[0]
    body_ops = len(g.data(_scan_node(g)).attrs["body"].op_nodes())
    own_bodies(g)
    moved = hoist(g)
    verify(g)
    assert moved == body_ops == 3  # the matmul, the tanh and the scaling
    scan = _scan_node(g)
    a, body = g.data(scan).attrs, g.data(scan).attrs["body"]
    assert not body.op_nodes() or set(body.op_histogram()) <= {"identity"}
    assert a["n_seqs"] == 1 and a["n_nonseqs"] == 1 and len(body.inputs) == len(g.node_inputs(scan)) == 2
    assert hoist(g) == 0  # a second round finds the loop consistent and nothing left to move
    verify(g)
    after = evaluate(g, feeds)[0]
    np.testing.assert_allclose(after, np.tile(2 * np.tanh(feeds["w"] @ feeds["x"]), (3, 1)), rtol=1e-12)
    np.testing.assert_allclose(after, before, rtol=1e-12)
