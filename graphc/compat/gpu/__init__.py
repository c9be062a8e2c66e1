"""Theano's and Lasagne's GPU back-end modules, as a CPU-only installation reports them.

graphc runs on ONNX Runtime, whose CUDA provider is chosen by ``graphc.function``
(``device=``, ``GRAPHC_DEVICE``); Theano's own GPU back-ends are not there.  These
modules import and say so, the way a Theano without a GPU does, so programs that probe
for them take their CPU path.
"""
