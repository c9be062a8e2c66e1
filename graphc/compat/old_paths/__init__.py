"""Theano's older module paths (``theano.tensor.signal.downsample``, ``theano.tensor.nnet.conv``...).

Each module here stands for one upstream path that moved or was renamed before
Theano 1.0; :data:`graphc.compat.aliases.OVERRIDES` maps the paths to them.
"""
