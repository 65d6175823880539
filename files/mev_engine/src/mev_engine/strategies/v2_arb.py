"""Reference strategy `v2_cross_pool_arb`: arbitrage between two constant-product
(Uniswap-V2-style, 0.3% fee) pools that trade the same token pair.

What it detects: for every configured pair of pools (A, B) holding the base token X
and another token Y, at each new head it reads both pools' reserves with one batched
`eth_call` and checks both directions (buy Y on A and sell it on B, and the reverse).
A direction is an opportunity when X -> Y on one pool followed by Y -> X on the other
returns more X than it spent, i.e. when the pools' prices differ by more than the two
fees. It then computes the input that maximises the profit in closed form.

Math (fee f = 997/1000, reserves (x1, y1) on the buy pool, (x2, y2) on the sell pool):

    y   = f*x*y1 / (x1 + f*x)               X -> Y on the buy pool
    out = f*y*x2 / (y2 + f*y)               Y -> X on the sell pool
        = a*x / (b + c*x)  with  a = f^2*y1*x2,  b = x1*y2,  c = f*y2 + f^2*y1

    profit(x) = a*x/(b + c*x) - x is concave; d/dx = a*b/(b + c*x)^2 - 1 = 0 gives

    x* = (sqrt(a*b) - b) / c,    profitable iff a > b  (f^2 * y1 * x2 > x1 * y2)

In integers (scaling f by 1000): a = 997^2*y1*x2, b = 1000^2*x1*y2,
c = 997*1000*y2 + 997^2*y1; x* = (isqrt(a*b) - b) // c. The profit reported is the
exact integer result of the V2 getAmountOut rounding at x* (and x*+-1, keeping the
best), which is what ArbExecutor.arbitrage will receive on chain. The input is capped
by the executor's base-token inventory. Profit is in base-token wei; the base token is
declared ETH-equivalent (WETH on a real chain), so net profit = gross - gas * gas price.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isqrt
from typing import Any

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from mev_engine.config import ArbChainConfig, EngineConfig
from mev_engine.rpc import RpcClient
from mev_engine.strategy import Candidate, Opportunity

FEE_NUMERATOR = 997
FEE_DENOMINATOR = 1000

GET_RESERVES = "0x" + function_signature_to_4byte_selector("getReserves()").hex()
TOKEN0 = "0x" + function_signature_to_4byte_selector("token0()").hex()
TOKEN1 = "0x" + function_signature_to_4byte_selector("token1()").hex()
BALANCE_OF = function_signature_to_4byte_selector("balanceOf(address)")
ARBITRAGE = function_signature_to_4byte_selector("arbitrage(address,address,address,uint256,uint256)")


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Uniswap V2's getAmountOut, bit for bit (integer division, 0.3% fee)."""
    if amount_in <= 0 or reserve_in <= 0 or reserve_out <= 0:
        return 0
    in_with_fee = amount_in * FEE_NUMERATOR
    return (in_with_fee * reserve_out) // (reserve_in * FEE_DENOMINATOR + in_with_fee)


def round_trip(amount_in: int, buy: tuple[int, int], sell: tuple[int, int]) -> int:
    """X out of X -> Y on the buy pool then Y -> X on the sell pool; pools as (reserve X, reserve Y)."""
    mid = get_amount_out(amount_in, buy[0], buy[1])
    return get_amount_out(mid, sell[1], sell[0])


def optimal_input(buy: tuple[int, int], sell: tuple[int, int]) -> int:
    """The closed-form profit-maximising input (0 when no input is profitable)."""
    x1, y1 = buy
    x2, y2 = sell
    if min(x1, y1, x2, y2) <= 0:
        return 0
    a = FEE_NUMERATOR**2 * y1 * x2
    b = FEE_DENOMINATOR**2 * x1 * y2
    if a <= b:
        return 0
    c = FEE_NUMERATOR * FEE_DENOMINATOR * y2 + FEE_NUMERATOR**2 * y1
    return (isqrt(a * b) - b) // c


def best_trade(buy: tuple[int, int], sell: tuple[int, int], cap: int | None = None) -> tuple[int, int]:
    """(input, exact integer profit) at the optimum, checked at x*-1, x*, x*+1 and the cap."""
    optimum = optimal_input(buy, sell)
    if optimum <= 0:
        return 0, 0
    candidates = {max(1, optimum - 1), optimum, optimum + 1}
    if cap is not None:
        candidates = {min(x, cap) for x in candidates if cap > 0}
    best = (0, 0)
    for amount in sorted(candidates):
        profit = round_trip(amount, buy, sell) - amount
        if profit > best[1]:
            best = (amount, profit)
    return best


@dataclass(frozen=True)
class PoolState:
    address: str
    base_is_token0: bool
    reserve_base: int
    reserve_other: int


def _word_address(word: str) -> str:
    return to_checksum_address("0x" + word[-40:])


class V2CrossPoolArb:
    """Entry point `v2_cross_pool_arb` of the `mev_engine.strategies` group."""

    def __init__(self, name: str, config: EngineConfig, clients: dict[str, RpcClient]) -> None:
        self.name = name
        self.settings: dict[str, ArbChainConfig] = config.arb
        self.clients = clients
        self._token0: dict[tuple[str, str], str] = {}

    def chains(self) -> list[str]:
        return sorted(self.settings)

    def _token0_of(self, chain: str, pools: list[str]) -> dict[str, str]:
        unknown = [p for p in pools if (chain, p) not in self._token0]
        if unknown:
            answers = self.clients[chain].batch([("eth_call", [{"to": p, "data": TOKEN0}, "latest"]) for p in unknown])
            for pool, answer in zip(unknown, answers, strict=True):
                self._token0[(chain, pool)] = _word_address(answer)
        return {p: self._token0[(chain, p)] for p in pools}

    def read_pools(self, chain: str, block: str = "latest") -> tuple[dict[str, PoolState], int]:
        """Reserves of every configured pool plus the executor's base-token inventory, in one batch."""
        settings = self.settings[chain]
        pools = sorted({p for pair in settings.pairs for p in (pair.pool_a, pair.pool_b)})
        token0 = self._token0_of(chain, pools)
        calls: list[tuple[str, list[Any]]] = [("eth_call", [{"to": p, "data": GET_RESERVES}, block]) for p in pools]
        inventory_call = "0x" + (BALANCE_OF + encode(["address"], [settings.executor])).hex()
        calls.append(("eth_call", [{"to": settings.base_token, "data": inventory_call}, block]))
        answers = self.clients[chain].batch(calls)
        states: dict[str, PoolState] = {}
        for pool, answer in zip(pools, answers[:-1], strict=True):
            reserve0, reserve1, _timestamp = decode(["uint112", "uint112", "uint32"], bytes.fromhex(answer[2:]))
            base_first = token0[pool] == settings.base_token
            states[pool] = PoolState(
                pool, base_first, reserve0 if base_first else reserve1, reserve1 if base_first else reserve0
            )
        inventory = int(answers[-1], 16)
        return states, inventory

    def evaluate(self, candidate: Candidate) -> list[Opportunity]:
        if candidate.kind != "head" or candidate.chain not in self.settings:
            return []  # reserves only move when a block lands: pending transactions are not this strategy's input
        settings = self.settings[candidate.chain]
        block = hex(candidate.block_number) if candidate.block_number is not None else "latest"
        states, inventory = self.read_pools(candidate.chain, block)
        found: list[Opportunity] = []
        for pair in settings.pairs:
            a, b = states[pair.pool_a], states[pair.pool_b]
            for buy, sell in ((a, b), (b, a)):
                amount, profit = best_trade(
                    (buy.reserve_base, buy.reserve_other), (sell.reserve_base, sell.reserve_other), cap=inventory
                )
                if profit <= 0:
                    continue
                data = ARBITRAGE + encode(
                    ["address", "address", "address", "uint256", "uint256"],
                    [buy.address, sell.address, settings.base_token, amount, 1],
                )
                found.append(
                    Opportunity(
                        chain=candidate.chain,
                        strategy=self.name,
                        block_number=candidate.block_number or 0,
                        gross_profit_wei=profit,
                        gas_estimate=settings.gas_limit,
                        to=settings.executor,
                        data="0x" + data.hex(),
                        details={
                            "pool_buy": buy.address,
                            "pool_sell": sell.address,
                            "base_token": settings.base_token,
                            "amount_in_wei": str(amount),
                            "reserves_buy": [str(buy.reserve_base), str(buy.reserve_other)],
                            "reserves_sell": [str(sell.reserve_base), str(sell.reserve_other)],
                            "inventory_wei": str(inventory),
                        },
                    )
                )
        return found
