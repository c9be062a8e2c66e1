"""``graphc.layers``: Lasagne's layers (``lasagne.layers``) and the theanets catalog."""

from .base import Layer, MergeLayer
from .dense import DenseLayer, NINLayer
from .helper import (
    count_params,
    get_all_layers,
    get_all_param_values,
    get_all_params,
    get_output,
    get_output_shape,
    set_all_param_values,
)
from .input import InputLayer
from .merge import ConcatLayer, ElemwiseMergeLayer, ElemwiseSumLayer, autocrop, autocrop_array_shapes, concat
from .shape import DimshuffleLayer, FlattenLayer, PadLayer, ReshapeLayer, SliceLayer, dimshuffle, flatten, pad, reshape
from .embedding import EmbeddingLayer
from .noise import DropoutLayer, GaussianNoiseLayer, dropout, dropout_channels, dropout_locations, spatial_dropout
from .normalization import (
    BatchNormLayer,
    LocalResponseNormalization2DLayer,
    StandardizationLayer,
    batch_norm,
    instance_norm,
    layer_norm,
)
from .recurrent import CustomRecurrentLayer, Gate, GRULayer, LSTMLayer, RecurrentLayer
from .special import (
    BiasLayer,
    ExpressionLayer,
    NonlinearityLayer,
    ParametricRectifierLayer,
    RandomizedRectifierLayer,
    ScaleLayer,
    prelu,
    rrelu,
    standardize,
)
