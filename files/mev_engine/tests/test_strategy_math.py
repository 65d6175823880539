"""The reference strategy's closed-form optimum against brute force over integer inputs."""

from __future__ import annotations

import random

import pytest

from mev_engine.strategies.v2_arb import best_trade, get_amount_out, optimal_input, round_trip

ETH = 10**18


def brute_force(buy: tuple[int, int], sell: tuple[int, int], upper: int, steps: int = 4000) -> tuple[int, int]:
    """Best (input, profit) over a grid, refined by ternary search on the (concave) exact profit."""
    best = (0, 0)
    for i in range(1, steps + 1):
        amount = upper * i // steps
        profit = round_trip(amount, buy, sell) - amount
        if profit > best[1]:
            best = (amount, profit)
    if best[0] == 0:
        return best
    low, high = max(1, best[0] - upper // steps), best[0] + upper // steps
    while high - low > 2:
        m1, m2 = low + (high - low) // 3, high - (high - low) // 3
        if round_trip(m1, buy, sell) - m1 < round_trip(m2, buy, sell) - m2:
            low = m1
        else:
            high = m2
    for amount in range(low, high + 1):
        profit = round_trip(amount, buy, sell) - amount
        if profit > best[1]:
            best = (amount, profit)
    return best


def test_get_amount_out_is_uniswap_v2() -> None:
    assert get_amount_out(ETH, 100 * ETH, 200_000 * ETH) == (ETH * 997 * 200_000 * ETH) // (
        100 * ETH * 1000 + ETH * 997
    )
    assert get_amount_out(0, 1, 1) == 0


def test_equal_prices_give_no_opportunity() -> None:
    pool = (100 * ETH, 200_000 * ETH)
    assert optimal_input(pool, pool) == 0
    assert best_trade(pool, pool) == (0, 0)


def test_price_gap_within_fees_gives_no_opportunity() -> None:
    # 0.4% apart: less than two 0.3% fees
    assert best_trade((100 * ETH, 200_000 * ETH), (100 * ETH, 200_800 * ETH)) == (0, 0)


@pytest.mark.parametrize("seed", range(12))
def test_closed_form_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    x1 = rng.randint(1, 10_000) * ETH // 10
    price = rng.randint(500, 5000)
    y1 = x1 * price
    gap = 1 + rng.uniform(0.01, 0.5)
    x2 = rng.randint(1, 10_000) * ETH // 10
    y2 = int(x2 * price / gap)  # Y is cheaper on the sell pool: X buys less Y there, sells dearer
    buy, sell = (x1, y1), (x2, y2)
    amount, profit = best_trade(buy, sell)
    assert profit > 0
    _brute_amount, brute_profit = brute_force(buy, sell, upper=min(x1, x2))
    assert profit >= brute_profit, (amount, profit, brute_profit)
    # and nothing at all is profitable the other way round
    assert best_trade(sell, buy) == (0, 0)


def test_cap_limits_the_input() -> None:
    buy, sell = (100 * ETH, 220_000 * ETH), (100 * ETH, 200_000 * ETH)
    free_amount, free_profit = best_trade(buy, sell)
    assert free_amount > ETH
    capped_amount, capped_profit = best_trade(buy, sell, cap=ETH)
    assert capped_amount == ETH
    assert 0 < capped_profit < free_profit
    assert best_trade(buy, sell, cap=0) == (0, 0)
