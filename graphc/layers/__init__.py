"""``graphc.layers``: Lasagne's layers (``lasagne.layers``); theanets' are in :mod:`graphc.theanets.layers`."""

from .base import Layer, MergeLayer
from .conv import (
    Conv1DLayer,
    Conv2DLayer,
    Conv3DLayer,
    Deconv2DLayer,
    Deconv3DLayer,
    DilatedConv2DLayer,
    TransposedConv2DLayer,
    TransposedConv3DLayer,
)
from .dense import DenseLayer, NINLayer
from .embedding import EmbeddingLayer
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
from .inverse import InverseLayer
from .local import LocallyConnected2DLayer
from .merge import ConcatLayer, ElemwiseMergeLayer, ElemwiseSumLayer, autocrop, autocrop_array_shapes, concat
from .noise import (
    AlphaDropoutLayer,
    DropoutLayer,
    GaussianNoiseLayer,
    alpha_dropout,
    dropout,
    dropout_channels,
    dropout_locations,
    spatial_dropout,
)
from .normalization import (
    BatchNormLayer,
    LocalResponseNormalization2DLayer,
    StandardizationLayer,
    batch_norm,
    instance_norm,
    layer_norm,
)
from .pool import (
    FeaturePoolLayer,
    FeatureWTALayer,
    GlobalPoolLayer,
    MaxPool1DLayer,
    MaxPool2DLayer,
    MaxPool3DLayer,
    Pool1DLayer,
    Pool2DLayer,
    Pool3DLayer,
    SpatialPyramidPoolingLayer,
    Upscale1DLayer,
    Upscale2DLayer,
    Upscale3DLayer,
)
from .recurrent import CustomRecurrentLayer, Gate, GRULayer, LSTMLayer, RecurrentLayer
from .shape import DimshuffleLayer, FlattenLayer, PadLayer, ReshapeLayer, SliceLayer, dimshuffle, flatten, pad, reshape
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
from .summary import summary
from .transformer import TPSTransformerLayer, TransformerLayer
