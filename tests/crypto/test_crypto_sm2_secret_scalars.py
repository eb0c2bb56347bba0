"""SM2's secret-scalar path: the fast path's points, by one fixed sequence of operations."""

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from types import CodeType, FrameType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import sm2

N = sm2._N
# Scalars as different as they come: smallest, largest, nibbles mostly zero, nibbles all 0xF.
SCALARS = [
    1,
    N - 1,
    (1 << 252) | 1,
    0x10000000000000000F000000000000000000000000000000000000001,
    2**252 - 1,
]


def _fast(k: int) -> tuple[int, int] | None:
    return sm2._to_affine(sm2._mul_base(k))


def _secret(k: int) -> tuple[int, int]:
    return sm2._to_affine_secret(sm2._mul_base_secret(k))


@settings(max_examples=200, deadline=None)
@given(k=st.integers(1, N - 1))
def test_secret_path_gives_the_fast_paths_point(k: int) -> None:
    assert _secret(k) == _fast(k)


@pytest.mark.parametrize("k", SCALARS, ids=hex)
def test_secret_path_gives_the_fast_paths_point_at_the_edges(k: int) -> None:
    assert _secret(k) == _fast(k)


def test_zero_gives_the_identity() -> None:
    assert sm2._mul_base_secret(0)[2] == 0


def _jacobian(point: tuple[int, int, int]) -> sm2._Jacobian:
    x, y, z = point
    return x * z % sm2._P, y * z * z % sm2._P, z  # X/Z = (xZ)/Z^2 and Y/Z = (yZ^2)/Z^3


@pytest.mark.parametrize(
    ("a", "b"),
    [(5, 7), (5, 5), (5, N - 5), (0, 9), (9, 0), (0, 0)],
    ids=["distinct", "equal", "opposite", "identity+P", "P+identity", "identity+identity"],
)
def test_complete_addition_has_no_exceptional_inputs(a: int, b: int) -> None:
    total = sm2._add_complete(sm2._mul_base_secret(a), sm2._mul_base_secret(b))
    expected = _fast((a + b) % N)
    if expected is None:
        assert total[2] == 0
    else:
        assert sm2._to_affine_secret(total) == expected
        assert sm2._to_affine(_jacobian(total)) == expected


def test_key_set_up_and_signing_take_the_secret_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(k: int) -> sm2._Jacobian:
        raise AssertionError("a secret scalar went through the fast path")

    monkeypatch.setattr(sm2, "_mul_base", refuse)
    monkeypatch.setattr(sm2, "_mul", refuse)
    key = sm2.PrivateKey.generate()
    signature = key.sign(b"m")
    monkeypatch.undo()
    key.public_key.verify(signature, b"m")


class _LoggedRow(tuple[int, ...]):
    """A table row that records every entry read from it."""

    log: list[tuple[int, int]]
    number: int

    def __iter__(self) -> Iterator[int]:
        for j, entry in enumerate(tuple.__iter__(self)):
            self.log.append((self.number, j))
            yield entry


def _operations(k: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Counter[str], list[Any]]:
    """Count the group operations of k·G and list every table entry read, in order."""
    counts: Counter[str] = Counter()
    reads: list[tuple[int, int]] = []
    rows = []
    for number, row in enumerate(sm2._secret_table()):
        logged = _LoggedRow(row)
        logged.log, logged.number = reads, number
        rows.append(logged)
    table = tuple(rows)

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            counts[name] += 1
            return real(*args)

        return call

    with monkeypatch.context() as patch:
        patch.setattr(sm2, "_secret_table", lambda: table)
        patch.setattr(sm2, "_select", counted("row scans", sm2._select))
        patch.setattr(sm2, "_add_complete", counted("additions", sm2._add_complete))
        patch.setattr(sm2, "_add", counted("fast additions", sm2._add))
        patch.setattr(sm2, "_add_affine", counted("fast additions", sm2._add_affine))
        patch.setattr(sm2, "_double", counted("doublings", sm2._double))
        point = _secret(k)
    assert point == _fast(k)
    return counts, reads


def test_every_scalar_costs_the_same_operations_and_reads_every_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    traces = [_operations(k, monkeypatch) for k in SCALARS]
    counts, reads = traces[0]
    assert counts == Counter({"row scans": 64, "additions": 64})
    assert reads == [(row, j) for row in range(64) for j in range(16)]
    assert all(trace == traces[0] for trace in traces)


_TRACED: set[CodeType] = {
    sm2._mul_base_secret.__code__,
    sm2._select.__code__,
    sm2._add_complete.__code__,
    sm2._to_affine_secret.__code__,
}


def _bytecode_trace(k: int) -> list[tuple[str, int]]:
    """Every bytecode instruction the secret path executes for k, as (function, offset)."""
    sm2._secret_table()  # built once, outside the trace
    executed: list[tuple[str, int]] = []

    def local(frame: FrameType, event: str, arg: object) -> Any:
        if event == "opcode":
            executed.append((frame.f_code.co_name, frame.f_lasti))
        return local

    def calls(frame: FrameType, event: str, arg: object) -> Any:
        if frame.f_code not in _TRACED:
            return None
        frame.f_trace_opcodes = True
        return local

    sys.settrace(calls)
    try:
        _secret(k)
    finally:
        sys.settrace(None)
    return executed


def test_the_executed_bytecode_does_not_depend_on_the_scalar() -> None:
    # Stronger than counting operations: a branch anywhere on the secret, even a
    # conditional expression, would execute different instructions for some scalar.
    reference = _bytecode_trace(SCALARS[0])
    assert len(reference) > 64 * 16 * 5
    for k in SCALARS[1:]:
        assert _bytecode_trace(k) == reference
