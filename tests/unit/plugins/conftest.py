"""Fixtures for plugin tests that talk JSON-RPC: a configurable stub node and real anvil nodes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from anvilnode import AnvilNode, AnvilUnavailable, find_anvil, free_port, start_anvil
from rpcstub import RpcStub, StubConfig


@pytest.fixture
def rpc_stub() -> Iterator[Callable[..., RpcStub]]:
    """Factory: rpc_stub(syncing=(1234, 5678), chain_id=5, ...) -> a running RpcStub (see StubConfig)."""
    stubs: list[RpcStub] = []

    def _make(**config: Any) -> RpcStub:
        stub = RpcStub(StubConfig(**config)).start()
        stubs.append(stub)
        return stub

    yield _make
    for stub in stubs:
        stub.stop()


@pytest.fixture
def closed_url() -> str:
    """A loopback URL nothing listens on: connecting is refused."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def anvil() -> Iterator[Callable[..., AnvilNode]]:
    """Factory: anvil(chain_id=1, block_time=1, name="default", network=None) -> a running AnvilNode.

    Nodes are shared for the session by (chain_id, block_time, name); ask for another
    `name` to get a node of your own (one whose chain you change, e.g. with anvil_mine).
    No anvil is a failure, not a skip: CI installs it (scripts/ensure-anvil.sh).
    """
    nodes: dict[tuple[int, float | None, str, str | None], AnvilNode] = {}
    binary: list[str] = []

    def _get(
        chain_id: int = 1, block_time: float | None = 1, name: str = "default", network: str | None = None
    ) -> AnvilNode:
        key = (chain_id, block_time, name, network)
        if key not in nodes:
            problem = ""
            try:
                if not binary:
                    binary.append(find_anvil())
                nodes[key] = start_anvil(binary[0], chain_id, block_time, network=network)
            except AnvilUnavailable as exc:
                problem = str(exc)
            if problem:
                pytest.fail(f"anvil is needed for this test and is not available: {problem}", pytrace=False)
        return nodes[key]

    yield _get
    for node in nodes.values():
        node.stop()
