-- 005: pool prices and reserves sampled by detection, partitioned by month; the
-- maintenance job drops partitions past the retention (the runbook's 30 days).
CREATE TABLE mev.market_data (
    time timestamptz NOT NULL,
    chain text NOT NULL,
    token_address text NOT NULL CHECK (token_address ~ '^0x[0-9a-fA-F]{40}$'),
    dex_address text NOT NULL CHECK (dex_address ~ '^0x[0-9a-fA-F]{40}$'),
    block_number bigint CHECK (block_number >= 0),
    price numeric NOT NULL,
    reserve0 numeric(78, 0),
    reserve1 numeric(78, 0),
    liquidity numeric(78, 0),
    volume_24h numeric
) PARTITION BY RANGE (time);

COMMENT ON TABLE mev.market_data IS 'pool prices and reserves over time; see roles/postgresql/README.md';

-- Operations & Deployment Guide, "Database Optimization".
CREATE INDEX market_data_time_token_idx ON mev.market_data (time DESC, token_address, dex_address);

SELECT mev.ensure_partitions(3);
