"""``lasagne.layers.cuda_convnet``: GPU-only layers; importing it fails as Lasagne does without a GPU."""

raise ImportError(
    "requires GPU support -- see http://lasagne.readthedocs.org/en/latest/user/installation.html#gpu-support"
)
