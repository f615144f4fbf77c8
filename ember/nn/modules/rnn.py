"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step cells.

Each is composed from Tensor operations (``linear``, ``sigmoid``, ``tanh``, ``stack``),
so backward through time needs no Function of its own. The input-to-hidden products of
a whole sequence are one matrix product per layer and direction; only the
hidden-to-hidden product runs once per time step.
"""

from __future__ import annotations

import math
from typing import Any

from ember._tensor import Tensor
from ember._tensor.creation import empty, zeros
from ember._tensor.movement import cat, stack
from ember.nn import _layers as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter

# gates per hidden unit, in PyTorch's order: LSTM (input, forget, cell, output), GRU (reset, update, new)
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _lstm_step(xw: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    gates = xw + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_step(xw: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    xr, xz, xn = xw.chunk(3, -1)
    hr, hz, hn = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return (1 - z) * n + z * h


def _rnn_step(xw: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, relu: bool) -> Tensor:
    pre = xw + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


class RNNBase(Module):
    """The shared machinery of ``RNN``, ``LSTM`` and ``GRU`` (PyTorch's parameter names and layout).

    Args:
        mode: ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``.
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional: as ``RNN``.
        proj_size: must be 0 (LSTM projections are not supported).
        device, dtype: the parameters' dtype; ``device`` is accepted for PyTorch compatibility.

    Shape:
        as ``RNN``, ``LSTM`` or ``GRU``.
    """

    def __init__(
        self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
        device: Any = None, dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size is not supported")
        if not 0.0 <= dropout <= 1.0 or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout}")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError(f"{name}: hidden_size and num_layers must be positive, got {hidden_size} and "
                             f"{num_layers}")
        self.mode, self.input_size, self.hidden_size, self.num_layers = (
            mode, input_size, hidden_size, num_layers
        )
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gate_size = _GATES[mode] * hidden_size
        self._weight_names: list[tuple[str, ...]] = []
        for layer in range(num_layers):
            for direction in range(2 if bidirectional else 1):
                n_in = input_size if layer == 0 else hidden_size * (2 if bidirectional else 1)
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                names = [f"weight_ih{suffix}", f"weight_hh{suffix}"]
                setattr(self, names[0], Parameter(empty(gate_size, n_in, dtype=dtype)))
                setattr(self, names[1], Parameter(empty(gate_size, hidden_size, dtype=dtype)))
                if bias:
                    names += [f"bias_ih{suffix}", f"bias_hh{suffix}"]
                    setattr(self, names[2], Parameter(empty(gate_size, dtype=dtype)))
                    setattr(self, names[3], Parameter(empty(gate_size, dtype=dtype)))
                self._weight_names.append(tuple(names))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self, k: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        names = self._weight_names[k]
        w_ih, w_hh = getattr(self, names[0]), getattr(self, names[1])
        if self.bias:
            return w_ih, w_hh, getattr(self, names[2]), getattr(self, names[3])
        return w_ih, w_hh, None, None

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Any]:
        name = type(self).__name__
        lstm = self.mode == "LSTM"
        if input.ndim not in (2, 3):
            raise ValueError(
                f"{name}: expected input of 2 (unbatched) or 3 dims, got shape {tuple(input.shape)}"
            )
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)  # (L, N, H_in): time first inside
        steps, n = x.shape[0], x.shape[1]
        if x.shape[2] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. "
                               f"Expected {self.input_size}, got {x.shape[2]}")
        dirs = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * dirs, n, self.hidden_size)
        if hx is None:
            h0 = zeros(*state_shape, dtype=x.dtype)
            c0 = zeros(*state_shape, dtype=x.dtype) if lstm else None
        else:
            h0, c0 = hx if lstm else (hx, None)
            if not batched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
            for what, state in (("hidden", h0), ("cell", c0)):
                if state is not None and tuple(state.shape) != state_shape:
                    raise RuntimeError(
                        f"{name}: expected {what} state of shape {state_shape}, got {tuple(state.shape)}"
                    )
        finals_h, finals_c = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(dirs):
                k = layer * dirs + direction
                w_ih, w_hh, b_ih, b_hh = self._weights(k)
                xw = F.linear(x, w_ih, b_ih)  # every step's input product at once: (L, N, gates)
                h = h0[k]
                c = c0[k] if c0 is not None else None
                hs: list[Any] = [None] * steps
                for t in (range(steps - 1, -1, -1) if direction else range(steps)):
                    if lstm:
                        h, c = _lstm_step(xw[t], h, c, w_hh, b_hh)  # type: ignore[arg-type]  # set for LSTM
                    elif self.mode == "GRU":
                        h = _gru_step(xw[t], h, w_hh, b_hh)
                    else:
                        h = _rnn_step(xw[t], h, w_hh, b_hh, self.mode == "RNN_RELU")
                    hs[t] = h
                outs.append(stack(hs) if steps else zeros(0, n, self.hidden_size, dtype=x.dtype))
                finals_h.append(h)
                finals_c.append(c)
            x = outs[0] if dirs == 1 else cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n = stack(finals_h)
        c_n = stack(finals_c) if lstm else None
        out = x.transpose(0, 1) if batched and self.batch_first else x
        if not batched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        return out, ((h_n, c_n) if lstm else h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """An Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU).

    Args:
        input_size, hidden_size: the sizes of ``x_t`` and ``h_t``.
        num_layers: stacked layers, each fed the previous one's outputs (default 1).
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        bias: whether to learn ``b_ih`` and ``b_hh`` (default True).
        batch_first: inputs and outputs are (N, L, H) instead of (L, N, H).
        dropout: dropout on the outputs of every layer but the last (training only).
        bidirectional: run a second pass backwards in time and concatenate the two.
        device, dtype: the parameters' dtype; ``device`` is accepted for PyTorch compatibility.

    Shape:
        input (L, N, H_in) (or (N, L, H_in), or unbatched (L, H_in)), h_0 (layers * dirs, N, H)
        -> output (L, N, dirs * H), h_n (layers * dirs, N, H).

    Example:
        >>> import ember
        >>> out, h = ember.nn.RNN(4, 8, batch_first=True)(ember.zeros(2, 5, 4))
        >>> tuple(out.shape), tuple(h.shape)
        ((2, 5, 8), (1, 2, 8))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, dtype=dtype)


class LSTM(RNNBase):
    """A long short-term memory layer (PyTorch's gates and parameter layout).

    Per step, with ``W_ih x_t + b_ih + W_hh h_{t-1} + b_hh`` split into i, f, g, o::

        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional: as ``RNN``.
        proj_size: must be 0 (LSTM projections are not supported).
        device, dtype: the parameters' dtype; ``device`` is accepted for PyTorch compatibility.

    Shape:
        input (L, N, H_in), (h_0, c_0) -> output (L, N, dirs * H), (h_n, c_n).

    Example:
        >>> import ember
        >>> out, (h, c) = ember.nn.LSTM(4, 8, num_layers=2)(ember.zeros(5, 3, 4))
        >>> tuple(out.shape), tuple(c.shape)
        ((5, 3, 8), (2, 3, 8))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype)


class GRU(RNNBase):
    """A gated recurrent unit layer (PyTorch's gates and parameter layout).

    Per step, with the input and hidden products each split into r, z, n parts::

        r = sigmoid(x_r + h_r), z = sigmoid(x_z + h_z)
        n = tanh(x_n + r * h_n)
        h_t = (1 - z) * n + z * h_{t-1}

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional: as ``RNN``.
        device, dtype: the parameters' dtype; ``device`` is accepted for PyTorch compatibility.

    Shape:
        input (L, N, H_in), h_0 -> output (L, N, dirs * H), h_n.

    Example:
        >>> import ember
        >>> out, h = ember.nn.GRU(4, 8, bidirectional=True)(ember.zeros(5, 3, 4))
        >>> tuple(out.shape), tuple(h.shape)
        ((5, 3, 16), (2, 3, 8))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype=dtype)


class _CellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, gates: int, dtype: Any) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(empty(gates * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(gates * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gates * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(empty(gates * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _begin(self, input: Tensor, hx: Any) -> tuple[Tensor, bool]:
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(
                f"{name}: expected input of 1 (unbatched) or 2 dims, got shape {tuple(input.shape)}"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size}")
        batched = input.ndim == 2
        return (input if batched else input.unsqueeze(0)), batched

    def _state(self, hx: Any, x: Tensor, batched: bool) -> Tensor:
        if hx is None:
            return zeros(x.shape[0], self.hidden_size, dtype=x.dtype)
        return hx if batched else hx.unsqueeze(0)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """One step of ``RNN``: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU).

    Args:
        input_size, hidden_size: the sizes of ``x`` and ``h``.
        bias: whether to learn ``b_ih`` and ``b_hh`` (default True).
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        device, dtype: the parameters' dtype; ``device`` is accepted for PyTorch compatibility.

    Shape:
        input (N, H_in) or (H_in,), hx (N, H) -> h' (N, H).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, batched = self._begin(input, hx)
        h = _rnn_step(F.linear(x, self.weight_ih, self.bias_ih), self._state(hx, x, batched), self.weight_hh,
                      self.bias_hh, self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(_CellBase):
    """One step of ``LSTM``; returns ``(h', c')``.

    Args:
        input_size, hidden_size: the sizes of ``x`` and ``h``.
        bias: whether to learn ``b_ih`` and ``b_hh`` (default True).
        device, dtype: the parameters' dtype; ``device`` is accepted for PyTorch compatibility.

    Shape:
        input (N, H_in) or (H_in,), (h, c) each (N, H) -> (h', c') each (N, H).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x, batched = self._begin(input, hx)
        h, c = (None, None) if hx is None else hx
        h, c = _lstm_step(F.linear(x, self.weight_ih, self.bias_ih), self._state(h, x, batched),
                          self._state(c, x, batched), self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(_CellBase):
    """One step of ``GRU``.

    Args:
        input_size, hidden_size: the sizes of ``x`` and ``h``.
        bias: whether to learn ``b_ih`` and ``b_hh`` (default True).
        device, dtype: the parameters' dtype; ``device`` is accepted for PyTorch compatibility.

    Shape:
        input (N, H_in) or (H_in,), hx (N, H) -> h' (N, H).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, batched = self._begin(input, hx)
        h = _gru_step(F.linear(x, self.weight_ih, self.bias_ih), self._state(hx, x, batched), self.weight_hh,
                      self.bias_hh)
        return h if batched else h.squeeze(0)
