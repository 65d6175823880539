-- 006: where the execution component's audit of the hot wallet's nonces begins, per chain and
-- address. The first time the engine sees an address on a chain it stores the address's confirmed
-- nonce then (its history before the engine: funding, deployments, an earlier wallet's life);
-- every nonce from there on must have a row in mev.transactions, else it was signed outside the
-- engine (mev_wallet_unrecorded_transactions). Small and never pruned: not partitioned.
CREATE TABLE mev.wallet_audit (
    chain text NOT NULL,
    address text NOT NULL CHECK (address ~ '^0x[0-9a-f]{40}$'),
    baseline_nonce bigint NOT NULL CHECK (baseline_nonce >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain, address)
);

COMMENT ON TABLE mev.wallet_audit IS 'first audited nonce of each hot wallet; see roles/postgresql/README.md';
