"""Elementwise ops against torch (values, dtypes, gradients) and finite differences."""

import pytest
from optest import Case, check_case, gradcheck_case

from ember.ops import elementwise as E

B = [(3, 4), (3, 4)]  # same shape
BC = [(2, 3, 4), (4,)]  # broadcast right into left
BC2 = [(3, 1), (1, 4)]  # broadcast both ways
Z = [(), (3, 2)]  # 0-d with a matrix

TABLE = [
    Case("add", lambda L, a, b: a + b, B, (E.Add,)),
    Case("add_bcast", lambda L, a, b: a + b, BC, (E.Add,)),
    Case("add_bcast2", lambda L, a, b: b + a, BC2, (E.Add,)),
    Case("add_0d", lambda L, a, b: a + b, Z, (E.Add,)),
    Case("add_scalar", lambda L, a: 2.5 + a, [(3,)], (E.Add,)),
    Case("sub", lambda L, a, b: a - b, BC2, (E.Sub,)),
    Case("rsub_scalar", lambda L, a: 1 - a, [(2, 3)], (E.Sub,)),
    Case("mul", lambda L, a, b: a * b, BC, (E.Mul,)),
    Case("mul_0d", lambda L, a, b: a * b, [(), ()], (E.Mul,)),
    Case("mul_noncontig", lambda L, a, b: a * b, [(3, 4), (3, 4)], (E.Mul,), noncontig=True),
    Case("div", lambda L, a, b: a / b, BC2, (E.Div,), low=0.5, high=2.0),
    Case("neg", lambda L, a: -a, [(2, 3)], (E.Neg,)),
    Case("pow", lambda L, a, b: a**b, BC2, (E.Pow,), low=0.5, high=2.0),
    Case("pow_scalar", lambda L, a: a**3, [(2, 3)], (E.PowScalar,)),
    Case("pow_half", lambda L, a: a**0.5, [(2, 3)], (E.PowScalar,), low=0.5, high=2.0),
    Case("rpow", lambda L, a: 2.0**a, [(2, 3)], (E.RPowScalar,)),
    Case("exp", lambda L, a: a.exp(), [(2, 3)], (E.Exp,)),
    Case("log", lambda L, a: a.log(), [(2, 3)], (E.Log,), low=0.5, high=3.0),
    Case("sqrt", lambda L, a: a.sqrt(), [(2, 3)], (E.Sqrt,), low=0.5, high=3.0),
    Case("sin", lambda L, a: a.sin(), [(2, 3)], (E.Sin,)),
    Case("tanh", lambda L, a: a.tanh(), [(4, 5)], (E.Tanh,)),
    Case("sigmoid", lambda L, a: a.sigmoid(), [(4, 5)], (E.Sigmoid,)),
    Case("relu", lambda L, a: a.relu(), [(4, 5)], (E.Relu,)),
    Case("maximum", lambda L, a, b: L.maximum(a, b), BC2, (E.Maximum,)),
    Case("where", lambda L, a, b: L.where(a > 0, a, b), BC2, (E.Where, E.Greater)),
    Case("cast", lambda L, a: a.double() * 2, [(2, 3)], (E.Cast,)),
    Case("lt", lambda L, a, b: a < b, BC2, (E.Less,), grad=False, gradcheck=False),
    Case("eq", lambda L, a, b: a == b, [(3,), (3,)], (E.Eq,), dtypes=["int64", "int64"], grad=False,
         gradcheck=False),
]


@pytest.mark.parametrize("case", TABLE, ids=str)
def test_against_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", [c for c in TABLE if c.gradcheck], ids=str)
def test_gradcheck(case):
    gradcheck_case(case)
