"""The scalar-autograd walkthrough on ember: Neuron, Layer and MLP built from 0-d tensors.

Every weight is its own 0-d tensor, exactly as in a scalar autograd engine, and the
training loop updates ``p.data`` by hand.
"""

from __future__ import annotations

import random

import ember


class Neuron:
    """A weighted sum of the inputs plus a bias, optionally through tanh."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [ember.tensor(random.uniform(-1, 1), requires_grad=True) for _ in range(nin)]
        self.b = ember.tensor(0.0, requires_grad=True)
        self.nonlin = nonlin

    def __call__(self, x: list) -> ember.Tensor:
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        return act.tanh() if self.nonlin else act

    def parameters(self) -> list[ember.Tensor]:
        return self.w + [self.b]


class Layer:
    """Several neurons reading the same inputs."""

    def __init__(self, nin: int, nout: int, **kwargs: bool) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: list) -> list | ember.Tensor:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[ember.Tensor]:
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    """Layers in a row; the last one is linear."""

    def __init__(self, nin: int, nouts: list[int]) -> None:
        sizes = [nin] + nouts
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x: list) -> list | ember.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[ember.Tensor]:
        return [p for layer in self.layers for p in layer.parameters()]


def main(steps: int = 200, lr: float = 0.1, seed: int = 1) -> float:
    random.seed(seed)
    # the basics first: a tiny expression and its gradients
    a = ember.tensor(2.0, requires_grad=True)
    b = ember.tensor(-3.0, requires_grad=True)
    c = a * b + 3
    c.backward()
    print(f"c = a * b + 3 = {c.item()}, dc/da = {a.grad.item()}, dc/db = {b.grad.item()}")

    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    model = MLP(3, [4, 4, 1])
    loss = ember.tensor(0.0)
    for step in range(steps):
        preds = [model(x) for x in xs]
        loss = sum(((p - y) ** 2 for p, y in zip(preds, ys)), ember.tensor(0.0))
        for p in model.parameters():
            p.grad = None
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        if step % 20 == 0 or step == steps - 1:
            print(f"step {step:3d}  loss {loss.item():.6f}")
    print("predictions:", [round(model(x).item(), 3) for x in xs])
    return loss.item()


if __name__ == "__main__":
    main()
