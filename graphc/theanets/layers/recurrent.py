"""theanets' recurrent layers (upstream's ``theanets.layers.recurrent``).

The :class:`Recurrent` base, :class:`RNN` and :class:`RRNN` live in ``_rnn``; the gated
forms (:class:`MUT1`, :class:`GRU`, :class:`LSTM`) in ``_recurrent_gated``; :class:`MRNN`,
:class:`SCRN`, :class:`Clockwork` and :class:`Bidirectional` in ``_recurrent_more``.  The
options every recurrent layer takes are described in ``_rnn``'s module docstring.
"""

from ._recurrent_gated import GRU, LSTM, MUT1
from ._recurrent_more import MRNN, SCRN, Bidirectional, Clockwork
from ._rnn import RATE_EPSILON, RNN, RRNN, Recurrent

__all__ = ["Recurrent", "RNN", "RRNN", "MUT1", "GRU", "LSTM", "MRNN", "SCRN", "Clockwork", "Bidirectional", "RATE_EPSILON"]
