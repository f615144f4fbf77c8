"""Fit a small two-layer network to a noisy sine curve with ember's autograd alone."""

import math

import ember


def main(steps: int = 2000, lr: float = 0.05) -> float:
    ember.manual_seed(0)
    x = ember.linspace(-math.pi, math.pi, 256).reshape(256, 1)
    y = x.sin() + 0.05 * ember.randn(256, 1)
    w1 = (ember.randn(1, 32) * 1.0).requires_grad_()
    b1 = ember.zeros(32, requires_grad=True)
    w2 = (ember.randn(32, 1) * (1 / math.sqrt(32))).requires_grad_()
    b2 = ember.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    loss = None
    for step in range(steps):
        pred = (x @ w1 + b1).tanh() @ w2 + b2
        loss = ((pred - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with ember.no_grad():
            for p in params:
                p -= lr * p.grad
        if step % 500 == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}")
    return loss.item()


if __name__ == "__main__":
    main()
