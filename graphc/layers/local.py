"""Locally connected layers (Lasagne's ``lasagne.layers.local``).

A locally connected layer is a convolution without weight sharing: every output
position has its own filter. As in Lasagne, only unit stride and ``'same'``
padding (odd filter sizes) are implemented.

The output is built from standard ops: the zero-padded input is sliced once per
filter tap into a patch tensor ``(batch, channels, taps, rows, cols)``, which is
then contracted with ``W`` position by position (one batched matrix product
over the output positions, or an elementwise product and a sum for
``channelwise=True``).
"""

from __future__ import annotations

from typing import Any

from .. import init, nonlinearities
from .. import tensor as T
from ..tensor.variable import Variable
from .base import format_layer
from .conv import Conv2DLayer, UnsupportedArgumentError

__all__ = ["LocallyConnected2DLayer"]


def _incoming_shape(incoming: Any) -> tuple[Any, ...] | None:
    """The shape ``incoming`` will give, if it can be read before the layer is built."""
    shape = getattr(incoming, "output_shape", incoming)
    try:
        return tuple(shape)
    except TypeError:
        return None


class LocallyConnected2DLayer(Conv2DLayer):
    """2-d locally connected layer: a convolution with unshared weights.

    Every output position ``(r, c)`` has its own filters ``W[..., r, c]``; the
    layer then optionally adds a bias and applies an elementwise nonlinearity.

    Parameters
    ----------
    incoming : Layer or tuple
        Shape ``(batch, channels, rows, cols)``; all but the batch size must be known.
    num_filters : int
        The number of output channels.
    filter_size : int or tuple of 2 ints
        Odd sizes only (``'same'`` padding).
    stride : int or tuple of 2 ints
        Must be 1 / ``(1, 1)``; accepted for compatibility with the convolution layers.
    pad : 'same'
        Any other padding (``'valid'``, ``'full'``, ints) is refused, as in Lasagne.
    untie_biases : bool
        False: one bias per filter (``b`` of shape ``(num_filters,)``). True:
        one bias per filter and position (``(num_filters, rows, cols)``).
    W : initializer, array, shared variable or expression
        Shape ``(num_filters, channels, filter_rows, filter_cols, rows, cols)``,
        or ``(num_filters, filter_rows, filter_cols, rows, cols)`` when ``channelwise``.
    b : initializer, array, shared variable, expression or None
        None for no biases.
    nonlinearity : callable or None
        None is the identity.
    flip_filters : bool
        True (the default) flips the filters as a convolution does; False correlates.
    channelwise : bool
        True connects output channel ``k`` to input channel ``k`` only;
        ``num_filters`` must then equal the number of input channels.
    **kwargs
        Passed to :class:`~graphc.layers.Layer` (``name``), or to
        :class:`~graphc.layers.Conv2DLayer` (``convolution``, unused here).

    Attributes
    ----------
    W : Variable
        The filter weights.
    b : Variable or None
        The biases.

    Raises
    ------
    ValueError
        When ``channelwise`` is True and ``num_filters`` differs from the number
        of input channels, or when the input shape has unknown sizes besides the batch.
    NotImplementedError
        For a stride other than 1, padding other than ``'same'``, an even filter
        size or ``num_groups`` other than 1 (raised as
        :class:`~graphc.layers.conv.UnsupportedArgumentError`, also a ``ValueError``).

    Notes
    -----
    Lasagne silently accepts and ignores ``num_groups`` (passed through
    ``**kwargs``); here anything but 1 is an error.
    """

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any = (1, 1),
        pad: Any = "same",
        untie_biases: bool = False,
        W: Any = init.GlorotUniform(),
        b: Any = init.Constant(0.0),
        nonlinearity: Any = nonlinearities.rectify,
        flip_filters: bool = True,
        channelwise: bool = False,
        **kwargs: Any,
    ) -> None:
        self.name = kwargs.get("name")
        self.channelwise = channelwise
        if kwargs.get("num_groups", 1) != 1:
            raise UnsupportedArgumentError(
                f"{format_layer(self)} does not support num_groups, got num_groups={kwargs['num_groups']!r}"
            )
        shape = _incoming_shape(incoming)
        # BaseConvLayer refuses unknown channels with its own message; Lasagne's is this one
        if shape is not None and len(shape) == 4 and any(s is None for s in shape[1:]):
            self._fixed_shape_error(shape)
        super().__init__(
            incoming,
            num_filters,
            filter_size,
            stride=stride,
            pad=pad,
            untie_biases=untie_biases,
            W=W,
            b=b,
            nonlinearity=nonlinearity,
            flip_filters=flip_filters,
            **kwargs,
        )
        if self.stride != (1, 1):
            raise UnsupportedArgumentError(f"{format_layer(self)} requires stride=1 / (1, 1), but got {stride!r}.")
        if self.pad != "same":
            raise UnsupportedArgumentError(f"{format_layer(self)} requires pad='same', but got {pad!r}.")

    def _fixed_shape_error(self, shape: Any) -> None:
        raise ValueError(
            f"{format_layer(self)}: A LocallyConnected2DLayer requires a fixed input shape "
            f"(except for the batch size). Got {tuple(shape)!r}."
        )

    def get_W_shape(self) -> tuple[int, ...]:  # noqa: N802  (Lasagne's name)
        """The shape of ``W``.

        Returns
        -------
        tuple of int
            ``(num_filters, channels, filter_rows, filter_cols, rows, cols)``,
            without the ``channels`` axis when ``channelwise`` is True.

        Raises
        ------
        ValueError
            For unknown input sizes besides the batch, or a channelwise layer
            whose ``num_filters`` differs from the number of input channels.
        """
        if any(s is None for s in self.input_shape[1:]):
            self._fixed_shape_error(self.input_shape)
        channels = self.input_shape[1]
        spatial = tuple(self.get_output_shape_for(self.input_shape)[2:])
        if not self.channelwise:
            return (self.num_filters, channels) + self.filter_size + spatial
        if self.num_filters != channels:
            raise ValueError(
                f"{format_layer(self)}: num_filters and the number of input channels should match when channelwise "
                f"is true, but got num_filters={self.num_filters!r} and {channels} input channels"
            )
        return (self.num_filters,) + self.filter_size + spatial

    def _patches(self, x: Variable) -> Variable:
        """``(batch, channels, taps, rows, cols)``: the input under each filter tap, taps in ``W``'s order."""
        fh, fw = self.filter_size
        rows, cols = self.input_shape[2:]
        padded = T.pad(x, [0, 0, fh // 2, fw // 2])
        taps = []
        for k in range(fh):
            # filter row k sees input row r + k - fh // 2, or r + (fh - 1 - k) - fh // 2 when flipped
            i = fh - 1 - k if self.flip_filters else k
            for m in range(fw):
                j = fw - 1 - m if self.flip_filters else m
                taps.append(padded[:, :, i : i + rows, j : j + cols])
        return T.stack(taps, axis=2)

    def convolve(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002  (Lasagne's name)
        """The locally connected product of ``input`` and ``W``, before bias and nonlinearity.

        Parameters
        ----------
        input : tensor
            ``(batch, channels, rows, cols)`` with the sizes of ``input_shape``.
        **kwargs
            Ignored.

        Returns
        -------
        Variable
            ``(batch, num_filters, rows, cols)``.
        """
        x = self._checked_input(input)
        channels, rows, cols = self.input_shape[1:]
        taps = self.filter_size[0] * self.filter_size[1]
        patches = self._patches(x)
        if self.channelwise:
            w = T.reshape(self.W, (channels, taps, rows, cols))
            return T.sum(patches * w.dimshuffle("x", 0, 1, 2, 3), axis=2)
        # out[b, f, p] = sum_k patches[b, k, p] * W[f, k, p]: a matrix product per output position p
        depth, positions = channels * taps, rows * cols
        lhs = T.reshape(patches, (x.shape[0], depth, positions)).dimshuffle(2, 0, 1)
        rhs = T.reshape(self.W, (self.num_filters, depth, positions)).dimshuffle(2, 1, 0)
        out = T.matmul(lhs, rhs).dimshuffle(1, 2, 0)
        return T.reshape(out, (x.shape[0], self.num_filters, rows, cols))
