"""Write your own differentiable operation: a walkthrough with ``Abs``, z = |x|.

1. Define it: subclass ``ember.Function``. ``forward`` receives Buffers (ember's
   arrays), saves on ``self`` what backward needs and returns the output;
   ``backward`` receives the gradient of the output and returns the gradient of
   each input (the chain rule for this one operation).
2. Use it: ``Abs.apply(x)`` joins the autograd graph like any built-in operation,
   so it mixes freely with the rest of the Tensor API.
3. Check it: ``ember.autograd.gradcheck`` compares your backward with central
   finite differences in float64.
4. Mistakes are loud: a backward that returns a gradient of the wrong shape
   raises an error that names your Function.

Run it with ``python examples/custom_op.py``.
"""

import ember


class Abs(ember.Function):
    """z = |x|;  dz/dx = sign(x)."""

    def forward(self, x):
        self.x = x  # saved for backward
        return x.abs()

    def backward(self, grad):
        return grad * self.x.sign()


class AbsWithABug(Abs):
    """The same forward, but backward sums over the first axis by mistake."""

    def backward(self, grad):
        return (grad * self.x.sign()).sum((0,))


def main() -> dict:
    ember.manual_seed(0)
    # 1-2. use Abs inside a larger graph, next to built-in operations
    x = ember.randn(3, 4, requires_grad=True)
    w = ember.randn(4, requires_grad=True)
    loss = (Abs.apply(x) * w).sum() + x.square().mean()
    loss.backward()
    print(f"loss = {loss.item():.4f}; the graph ends in {loss.grad_fn!r}")

    # the same graph with the built-in abs gives the same gradients
    x2 = x.detach().clone().requires_grad_()
    w2 = w.detach().clone().requires_grad_()
    ((x2.abs() * w2).sum() + x2.square().mean()).backward()
    same = bool((x.grad - x2.grad).abs().max() < 1e-6) and bool((w.grad - w2.grad).abs().max() < 1e-6)
    print(f"gradients match the built-in abs: {same}")

    # 3. finite differences in float64, away from the kink at 0
    x64 = (ember.rand(2, 3, dtype=ember.float64) + 0.5) * ember.tensor([1.0, -1.0, 1.0], dtype=ember.float64)
    passed = ember.autograd.gradcheck(Abs.apply, (x64.requires_grad_(),))
    print(f"gradcheck: {passed}")

    # 4. a wrong-shaped gradient is caught at the Function that produced it
    try:
        AbsWithABug.apply(ember.randn(3, 4, requires_grad=True)).sum().backward()
        error = ""
    except RuntimeError as e:
        error = str(e)
    print(f"the buggy version fails with: {error}")
    return {"same_as_builtin": same, "gradcheck": passed, "error": error}


if __name__ == "__main__":
    main()
