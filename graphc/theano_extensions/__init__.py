"""Lasagne's ``lasagne.theano_extensions``: alternative 1-d convolutions and constant padding.

``import graphc as lasagne`` then ``lasagne.theano_extensions.conv.conv1d_mc0`` and
``lasagne.theano_extensions.padding.pad`` work as upstream.
"""

from . import conv, padding

__all__ = ["conv", "padding"]
