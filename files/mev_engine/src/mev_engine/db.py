"""PostgreSQL access for the engine, written against the `mev` schema that the
postgresql role's migrations own (roles/postgresql/files/migrations): tables
mev.opportunities, mev.transactions and mev.profits, and mev.wallet_audit (where the audit of
the hot wallet's nonces begins). Amounts are in wei."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

log = logging.getLogger(__name__)

OPEN_STATUSES = ("pending", "submitted")
# A transaction with one of these has a receipt: the engine saw its nonce mined with it.
MINED_STATUSES = ("confirmed", "failed")


# A connection idle this long is checked (SELECT 1) before use: the server may have ended it
# meanwhile (a restart, a failover, pg_terminate_backend), and the statement would fail once.
IDLE_CHECK_SECONDS = 5.0


class Database:
    """One connection per process, reconnected on failure, serialised by a lock. A connection
    that has been idle is checked before use and replaced when the server ended it, so the first
    statement after a PostgreSQL restart does not fail (an emergency's cancel answered 500 so)."""

    def __init__(self, dsn: str, application_name: str) -> None:
        self.dsn = dsn
        self.application_name = application_name
        self._conn: psycopg.Connection[dict[str, Any]] | None = None
        self._lock = threading.Lock()
        self._used = 0.0

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        if self._conn is not None and not (self._conn.closed or self._conn.broken):
            if time.monotonic() - self._used < IDLE_CHECK_SECONDS:
                return self._conn
            try:
                self._conn.execute("SELECT 1")
                return self._conn
            except psycopg.OperationalError as exc:
                log.warning("the database connection was ended while idle (%s): connecting again", exc)
                self._conn.close()
        self._conn = psycopg.connect(
            self.dsn,
            autocommit=True,
            row_factory=dict_row,
            application_name=self.application_name,
            connect_timeout=5,
        )
        self._used = time.monotonic()
        return self._conn

    @contextmanager
    def cursor(self) -> Iterator[psycopg.Cursor[dict[str, Any]]]:
        with self._lock:
            try:
                conn = self._connect()
                with conn.cursor() as cur:
                    yield cur
                self._used = time.monotonic()
            except psycopg.OperationalError:
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                raise

    def ping(self) -> None:
        with self.cursor() as cur:
            cur.execute("SELECT 1 FROM mev.transactions LIMIT 1")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------------ opportunities

    def insert_opportunity(
        self,
        chain: str,
        strategy: str,
        profit_wei: int,
        gas_estimate: int,
        block_number: int,
        details: dict[str, Any],
        status: str = "detected",
    ) -> tuple[int, datetime]:
        with self.cursor() as cur:
            cur.execute(
                "INSERT INTO mev.opportunities (chain, strategy_type, status, profit_estimate, gas_estimate,"
                " block_number, details) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id, detected_at",
                (chain, strategy, status, profit_wei, gas_estimate, block_number, Jsonb(details)),
            )
            row = cur.fetchone()
            if row is None:
                raise psycopg.DatabaseError("INSERT ... RETURNING returned no row")
            return int(row["id"]), row["detected_at"]

    def find_opportunity(self, chain: str, block_number: int, key: str) -> int | None:
        """The id of the opportunity recorded with this details.key (calculation.opportunity_key)
        in the last day, if any: a candidate read again after a crash must not record it twice."""
        with self.cursor() as cur:
            cur.execute(
                "SELECT id FROM mev.opportunities WHERE chain = %s AND block_number = %s AND details->>'key' = %s"
                " AND detected_at > now() - interval '1 day' LIMIT 1",
                (chain, block_number, key),
            )
            row = cur.fetchone()
            return None if row is None else int(row["id"])

    def set_opportunity_status(self, opportunity_id: int, detected_at: datetime | str, status: str) -> None:
        with self.cursor() as cur:
            cur.execute(
                "UPDATE mev.opportunities SET status = %s WHERE id = %s AND detected_at = %s",
                (status, opportunity_id, detected_at),
            )

    # ------------------------------------------------------------------ transactions

    def insert_transaction(
        self,
        chain: str,
        tx_hash: str,
        from_address: str,
        to_address: str | None,
        nonce: int,
        gas_limit: int,
        max_fee: int,
        priority_fee: int,
        value_wei: int,
        opportunity_id: int | None,
        status: str = "submitted",
    ) -> None:
        """status 'pending': signed, written before the broadcast (mark_transaction to 'submitted' after)."""
        with self.cursor() as cur:
            cur.execute(
                "INSERT INTO mev.transactions (tx_hash, chain, opportunity_id, from_address, to_address, nonce,"
                " gas_limit, max_fee_per_gas, max_priority_fee_per_gas, value_wei, status, submitted_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())",
                (
                    tx_hash,
                    chain,
                    opportunity_id,
                    from_address,
                    to_address,
                    nonce,
                    gas_limit,
                    max_fee,
                    priority_fee,
                    value_wei,
                    status,
                ),
            )

    def order_handled(self, opportunity_id: int, detected_at: datetime | str) -> bool:
        """Whether an order was handled already: its opportunity has a transaction or left 'active'."""
        with self.cursor() as cur:
            cur.execute(
                "SELECT EXISTS (SELECT 1 FROM mev.transactions WHERE opportunity_id = %(id)s)"
                " OR EXISTS (SELECT 1 FROM mev.opportunities WHERE id = %(id)s AND detected_at = %(at)s"
                "            AND status <> 'active') AS handled",
                {"id": opportunity_id, "at": detected_at},
            )
            row = cur.fetchone()
            return bool(row and row["handled"])

    def finish_transaction(
        self,
        tx_hash: str,
        status: str,
        receipt_status: int | None,
        block_number: int | None,
        gas_used: int | None,
        effective_gas_price: int | None,
        profit_wei: int | None,
    ) -> None:
        with self.cursor() as cur:
            cur.execute(
                "UPDATE mev.transactions SET status = %s, receipt_status = %s, block_number = %s, gas_used = %s,"
                " effective_gas_price = %s, profit_amount = %s,"
                " confirmed_at = CASE WHEN %s IS NULL THEN confirmed_at ELSE now() END"
                " WHERE tx_hash = %s AND status IN ('pending', 'submitted')",
                (
                    status,
                    receipt_status,
                    block_number,
                    gas_used,
                    effective_gas_price,
                    profit_wei,
                    block_number,
                    tx_hash,
                ),
            )

    def mark_transaction(self, tx_hash: str, status: str) -> None:
        with self.cursor() as cur:
            cur.execute(
                "UPDATE mev.transactions SET status = %s WHERE tx_hash = %s AND status IN ('pending', 'submitted')",
                (status, tx_hash),
            )

    def open_transactions(self, chain: str | None = None) -> list[dict[str, Any]]:
        return self.transactions(status="pending", chain=chain, limit=10_000)

    def transactions(self, status: str | None, chain: str | None, limit: int) -> list[dict[str, Any]]:
        """Newest first. status 'pending' means every transaction still without a receipt."""
        with self.cursor() as cur:
            cur.execute(
                "SELECT tx_hash AS hash, chain, opportunity_id, from_address, to_address, nonce, gas_limit, gas_used,"
                " max_fee_per_gas, max_priority_fee_per_gas, effective_gas_price, value_wei, profit_amount, status,"
                " receipt_status, block_number, submitted_at, confirmed_at, created_at FROM mev.transactions"
                " WHERE (%(status)s::text IS NULL OR status = %(status)s"
                "        OR (%(status)s = 'pending' AND status IN ('pending', 'submitted')))"
                "   AND (%(chain)s::text IS NULL OR chain = %(chain)s)"
                " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
                {"status": status, "chain": chain, "limit": limit},
            )
            return list(cur.fetchall())

    def recorded_nonces(self, chain: str, address: str, low: int, high: int) -> dict[int, dict[str, Any]]:
        """nonce -> {"mined": a row has a receipt, "open": a row waits for one, "hashes": every row's
        hash} for the nonces in [low, high) the engine recorded from `address` on `chain`."""
        with self.cursor() as cur:
            cur.execute(
                "SELECT nonce, bool_or(status = ANY(%(mined)s)) AS mined, bool_or(status = ANY(%(open)s)) AS open,"
                " array_agg(tx_hash) AS hashes FROM mev.transactions"
                " WHERE chain = %(chain)s AND from_address = ANY(%(address)s) AND nonce >= %(low)s AND nonce < %(high)s"
                " GROUP BY nonce",
                {
                    "mined": list(MINED_STATUSES),
                    "open": list(OPEN_STATUSES),
                    "chain": chain,
                    # The engine writes the checksummed address; a lower-case one is the same wallet.
                    "address": [address, address.lower()],
                    "low": low,
                    "high": high,
                },
            )
            return {int(row["nonce"]): row for row in cur.fetchall()}

    # ------------------------------------------------------------------ wallet audit

    def wallet_baseline(self, chain: str, address: str, nonce: int) -> int:
        """The nonce from which the wallet's transactions on `chain` are audited: `nonce` (its
        confirmed count now) the first time the wallet is seen there, what was stored then ever after."""
        with self.cursor() as cur:
            cur.execute(
                "INSERT INTO mev.wallet_audit (chain, address, baseline_nonce) VALUES (%s, %s, %s)"
                " ON CONFLICT (chain, address) DO NOTHING",
                (chain, address.lower(), nonce),
            )
            cur.execute(
                "SELECT baseline_nonce FROM mev.wallet_audit WHERE chain = %s AND address = %s",
                (chain, address.lower()),
            )
            row = cur.fetchone()
            if row is None:
                raise psycopg.DatabaseError("mev.wallet_audit has no row just after its INSERT")
            return int(row["baseline_nonce"])

    # ------------------------------------------------------------------ profits

    def insert_profit(
        self,
        chain: str,
        strategy: str,
        opportunity_id: int | None,
        tx_hash: str,
        token_address: str,
        gross_profit_wei: int,
        gas_cost_wei: int,
        block_number: int,
    ) -> None:
        with self.cursor() as cur:
            cur.execute(
                "INSERT INTO mev.profits (chain, strategy_type, opportunity_id, transaction_id, tx_hash, token_address,"
                " gross_profit_wei, gas_cost_wei, block_number)"
                " VALUES (%s, %s, %s,"
                " (SELECT id FROM mev.transactions WHERE tx_hash = %s LIMIT 1), %s, %s, %s, %s, %s)",
                (
                    chain,
                    strategy,
                    opportunity_id,
                    tx_hash,
                    tx_hash,
                    token_address,
                    gross_profit_wei,
                    gas_cost_wei,
                    block_number,
                ),
            )
