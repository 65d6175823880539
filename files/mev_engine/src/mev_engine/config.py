"""Engine configuration: `/etc/mev/engine.yml` plus secrets from the environment (file).

`load_config()` never raises on the first problem: it walks the whole document and
collects every problem as a readable line, so `mev-engine validate-config` can list
them all at once. Secrets never live in the YAML file; they come from the environment
(`/etc/mev/engine.env` holds them all for validate-config, preflight and mev-cli; each unit's
`EnvironmentFile=/etc/mev/engine-<component>.env` holds only what COMPONENT_SECRETS gives it):

    MEV_API_TOKEN            bearer token of the /api/v1 endpoints (>= 32 characters)
    MEV_KEYSTORE_PASSWORD    password of the hot-wallet V3 keystore
    MEV_DB_PASSWORD          PostgreSQL password (optional: peer/trust auth needs none)
    MEV_REDIS_PASSWORD       Redis password (optional)
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import yaml
from eth_utils import is_address, is_checksum_address

from mev_engine import owned

DEFAULT_CONFIG = Path("/etc/mev/engine.yml")
DEFAULT_ENV_FILE = Path("/etc/mev/engine.env")
# Written on the host by the emergency's fallback when the API cannot stop trading (state.py).
DEFAULT_STOP_FILE = Path("/var/lib/mev/emergency-stop.json")

# Chains the engine knows, with their chain ids. A devnet may run anvil under a real
# chain's name with anvil's id (31337) or any id: set `devnet: true` on the chain.
KNOWN_CHAINS: dict[str, int] = {
    "ethereum": 1,
    "optimism": 10,
    "polygon": 137,
    "base": 8453,
    "arbitrum": 42161,
    "avalanche": 43114,
    "devnet": 31337,
}

SECRET_VARIABLES = ("MEV_API_TOKEN", "MEV_KEYSTORE_PASSWORD", "MEV_DB_PASSWORD", "MEV_REDIS_PASSWORD")
# What must be set: both for validate-config and preflight; for `run <component>` only what that
# component uses (COMPONENT_SECRETS), so that each unit's environment file holds only those - the
# HTTP-facing mev-monitoring never holds the keystore password, only mev-execution does.
REQUIRED_SECRETS = ("MEV_API_TOKEN", "MEV_KEYSTORE_PASSWORD")
COMPONENT_SECRETS = {
    "monitoring": ("MEV_API_TOKEN", "MEV_DB_PASSWORD", "MEV_REDIS_PASSWORD"),
    "detection": ("MEV_REDIS_PASSWORD",),
    "calculation": ("MEV_DB_PASSWORD", "MEV_REDIS_PASSWORD"),
    "execution": ("MEV_KEYSTORE_PASSWORD", "MEV_DB_PASSWORD", "MEV_REDIS_PASSWORD"),
}
MIN_TOKEN_LENGTH = 32
LOG_LEVELS = ("debug", "info", "warning", "error")

# Addresses nobody holds a key for: funds sent there are lost. The collection's
# validate_inventory, role preflights and evm_sweep refuse the same list (plugins/module_utils/addresses.py;
# a unit test keeps the two equal).
BURN_ADDRESSES = frozenset(
    {
        "0x0000000000000000000000000000000000000000",
        "0x000000000000000000000000000000000000dead",
        "0xdead000000000000000042069420694206942069",
        "0xffffffffffffffffffffffffffffffffffffffff",
    }
)


def _backups(c: _Collector, raw: Any, where: str, seen: set[str]) -> tuple[Endpoint, ...]:
    """A chain's `backups`: [{http_url, ws_url?}], each a provider of the same chain (preflight
    checks its chain id) other than the primary."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.problem(where, f"expected a list of {{http_url, ws_url}}, found {type(raw).__name__}")
        return ()
    out: list[Endpoint] = []
    for index, entry in enumerate(raw):
        at = f"{where}[{index}]"
        item = c.mapping(entry, at)
        c.unknown_keys(item, {"http_url", "ws_url"}, at)
        http_url = c.url(item, "http_url", at, ("http", "https"))
        ws_url = c.url(item, "ws_url", at, ("ws", "wss"), required=False) or None
        if http_url in seen:
            c.problem(f"{at}.http_url", f"{shown_url(http_url)} is already an endpoint of this chain")
        elif http_url:
            seen.add(http_url)
            out.append(Endpoint(f"backup{len(out) + 1}", http_url, ws_url))
    return tuple(out)


class ConfigError(Exception):
    """The configuration has problems; `problems` lists each one readably."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"{len(problems)} problem(s){where}:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Endpoint:
    """One provider of a chain: the local node ("primary") or a backup ("backup1", ...)."""

    label: str
    http_url: str
    ws_url: str | None

    @property
    def shown(self) -> str:
        """The URL as logs and errors show it: a provider's key lives in the path, the query or the
        user info (https://eth-mainnet.g.alchemy.com/v2/<key>), so only scheme://host:port is kept."""
        return shown_url(self.http_url)


def shown_url(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    hidden = "/…" if parts.path.strip("/") or parts.query or parts.username or parts.password else ""
    return f"{parts.scheme}://{netloc}{hidden}"


@dataclass(frozen=True)
class ChainConfig:
    name: str
    chain_id: int
    http_url: str
    ws_url: str | None
    pending_transactions: bool
    poll_interval_seconds: float
    max_head_age_seconds: float
    devnet: bool
    # Backup providers, tried in this order after the primary (http_url / ws_url) fails (rpc.py).
    backups: tuple[Endpoint, ...] = ()

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return (Endpoint("primary", self.http_url, self.ws_url), *self.backups)


@dataclass(frozen=True)
class ArbPoolPair:
    pool_a: str
    pool_b: str


@dataclass(frozen=True)
class ArbChainConfig:
    executor: str
    base_token: str
    pairs: tuple[ArbPoolPair, ...]
    gas_limit: int


@dataclass(frozen=True)
class Secrets:
    api_token: str
    keystore_password: str
    db_password: str
    redis_password: str

    def __repr__(self) -> str:  # never print secrets, not even in a traceback
        return "Secrets(<redacted>)"


@dataclass(frozen=True)
class EngineConfig:
    instance: str
    log_level: str
    redis_url: str
    stream_maxlen: int
    postgres_dsn: str
    api_host: str
    api_port: int
    chains: dict[str, ChainConfig]
    keystore: Path
    cold_wallet: str
    min_balance_eth: Decimal
    min_profit_eth: Decimal
    max_gas_price_gwei: Decimal
    priority_fee_gwei: Decimal
    fee_bump_percent: int
    order_ttl_seconds: float
    receipt_timeout_seconds: float
    success_rate_window: int
    strategies: dict[str, dict[str, Any]]
    arb: dict[str, ArbChainConfig]
    secrets: Secrets = field(repr=False)
    owned_contracts: tuple[dict[str, Any], ...] = ()  # owned.py: executors and the desk's own
    stop_file: Path = DEFAULT_STOP_FILE
    source: str = ""
    claim_idle_seconds: float = 60.0  # redis.claim_idle_seconds
    resend_after_seconds: float = 24.0  # trading.resend_after_seconds
    max_resends: int = 3  # trading.max_resends

    def redis_url_with_password(self) -> str:
        return _with_password(self.redis_url, self.secrets.redis_password, user_default="")

    def postgres_dsn_with_password(self) -> str:
        return _with_password(self.postgres_dsn, self.secrets.db_password, user_default=None)


def _with_password(url: str, password: str, user_default: str | None) -> str:
    """Insert a password from the environment into a URL that carries none."""
    if not password:
        return url
    parts = urlsplit(url)
    if parts.password:
        return url
    user = parts.username if parts.username is not None else user_default
    if user is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# --------------------------------------------------------------------------------------- env


_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a systemd EnvironmentFile (KEY=value, optional quotes, # comments)."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith(("#", ";")):
            continue
        match = _ENV_LINE.match(line)
        if not match:
            raise ConfigError([f"line {number}: expected KEY=value"], str(path))
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


# ------------------------------------------------------------------------------- validation


class _Collector:
    """Reads typed values out of the YAML tree, noting every problem instead of raising."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def mapping(self, data: Any, where: str) -> dict[str, Any]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem(where, f"expected a mapping, found {type(data).__name__}")
            return {}
        return data

    def unknown_keys(self, data: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in sorted(set(data) - allowed, key=str):
            self.problem(f"{where}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def string(self, data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = data.get(key, default)
        if value is None:
            self.problem(f"{where}.{key}", "is required")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{where}.{key}", f"expected a non-empty string, found {value!r}")
            return ""
        return value

    def number(
        self,
        data: dict[str, Any],
        key: str,
        where: str,
        default: float | int | str | None,
        low: Decimal,
        high: Decimal,
    ) -> Decimal:
        value = data.get(key, default)
        if value is None:
            self.problem(f"{where}.{key}", "is required")
            return low
        if isinstance(value, bool):
            self.problem(f"{where}.{key}", f"expected a number, found {value!r}")
            return low
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.problem(f"{where}.{key}", f"expected a number, found {value!r}")
            return low
        if not number.is_finite() or not low <= number <= high:
            self.problem(f"{where}.{key}", f"{value} is out of range [{low}, {high}]")
            return low
        return number

    def integer(self, data: dict[str, Any], key: str, where: str, default: int | None, low: int, high: int) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{where}.{key}", f"expected an integer, found {value!r}")
            return low
        if not low <= value <= high:
            self.problem(f"{where}.{key}", f"{value} is out of range [{low}, {high}]")
            return low
        return value

    def boolean(self, data: dict[str, Any], key: str, where: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{where}.{key}", f"expected true or false, found {value!r}")
            return default
        return value

    def url(self, data: dict[str, Any], key: str, where: str, schemes: tuple[str, ...], required: bool = True) -> str:
        value = data.get(key)
        if value is None and not required:
            return ""
        text = self.string(data, key, where)
        if not text:
            return ""
        parts = urlsplit(text)
        try:
            port_ok = parts.port is None or 0 < parts.port < 65536
        except ValueError:
            port_ok = False
        if parts.scheme not in schemes or not parts.hostname or not port_ok:
            self.problem(f"{where}.{key}", f"{text!r} is not a valid {'/'.join(schemes)} URL")
            return ""
        return text

    def address(self, data: dict[str, Any], key: str, where: str) -> str:
        text = self.string(data, key, where)
        return self.check_address(text, f"{where}.{key}") if text else ""

    def check_address(self, text: Any, where: str) -> str:
        if not isinstance(text, str) or not is_address(text):
            self.problem(where, f"{text!r} is not an EVM address (0x + 40 hex digits)")
            return ""
        if not is_checksum_address(text):
            self.problem(where, f"{text} is not EIP-55 checksummed (write it in its mixed-case checksum form)")
            return ""
        return text


def parse_config(
    document: Any, environ: dict[str, str], source: str = "", require_secrets: Collection[str] = REQUIRED_SECRETS
) -> EngineConfig:
    """Build an EngineConfig from a parsed YAML document; raise ConfigError listing every problem."""
    c = _Collector()
    top = c.mapping(document, "(top level)")
    c.unknown_keys(top, {"engine", "redis", "postgres", "api", "chains", "wallet", "trading", "strategies"}, "(top)")

    engine = c.mapping(top.get("engine"), "engine")
    c.unknown_keys(engine, {"instance", "log_level", "stop_file"}, "engine")
    instance = c.string(engine, "instance", "engine", default="default")
    stop_text = c.string(engine, "stop_file", "engine", default=str(DEFAULT_STOP_FILE))
    stop_file = Path(stop_text) if stop_text else DEFAULT_STOP_FILE
    if stop_text and not stop_file.is_absolute():
        c.problem("engine.stop_file", f"{stop_text} is not an absolute path")
    log_level = str(engine.get("log_level", "info")).lower()
    if log_level not in LOG_LEVELS:
        c.problem("engine.log_level", f"{log_level!r} is not one of {', '.join(LOG_LEVELS)}")

    redis_section = c.mapping(top.get("redis"), "redis")
    c.unknown_keys(redis_section, {"url", "stream_maxlen", "claim_idle_seconds"}, "redis")
    redis_url = c.url(redis_section, "url", "redis", ("redis", "rediss", "unix"))
    stream_maxlen = c.integer(redis_section, "stream_maxlen", "redis", 100_000, 1_000, 100_000_000)
    # A consumer's unacknowledged entries idle this long are taken over by another (it crashed).
    claim_idle = c.number(redis_section, "claim_idle_seconds", "redis", 60, Decimal("0.1"), Decimal(86400))

    postgres = c.mapping(top.get("postgres"), "postgres")
    c.unknown_keys(postgres, {"dsn"}, "postgres")
    postgres_dsn = c.url(postgres, "dsn", "postgres", ("postgresql", "postgres"))

    api = c.mapping(top.get("api"), "api")
    c.unknown_keys(api, {"host", "port"}, "api")
    api_host = c.string(api, "host", "api", default="127.0.0.1")
    api_port = c.integer(api, "port", "api", 8090, 1, 65535)

    chains: dict[str, ChainConfig] = {}
    raw_chains = top.get("chains")
    if not isinstance(raw_chains, list) or not raw_chains:
        c.problem("chains", "expected a non-empty list of chains")
        raw_chains = []
    for index, raw in enumerate(raw_chains):
        where = f"chains[{index}]"
        item = c.mapping(raw, where)
        allowed = {"name", "chain_id", "http_url", "ws_url", "pending_transactions", "poll_interval_seconds"}
        c.unknown_keys(item, allowed | {"max_head_age_seconds", "devnet", "backups"}, where)
        name = c.string(item, "name", where)
        if name:
            where = f"chains[{index}] ({name})"
        if name and name not in KNOWN_CHAINS:
            c.problem(f"{where}.name", f"unknown chain {name!r} (known: {', '.join(KNOWN_CHAINS)})")
        if name in chains:
            c.problem(f"{where}.name", f"chain {name!r} is configured twice")
        devnet = c.boolean(item, "devnet", where, False)
        chain_id = item.get("chain_id", KNOWN_CHAINS.get(name, 0))
        if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
            c.problem(f"{where}.chain_id", f"expected a positive integer, found {chain_id!r}")
            chain_id = 0
        elif name in KNOWN_CHAINS and chain_id != KNOWN_CHAINS[name] and not devnet:
            c.problem(
                f"{where}.chain_id",
                f"{chain_id} is not {name}'s chain id {KNOWN_CHAINS[name]} (set devnet: true for a devnet node)",
            )
        http_url = c.url(item, "http_url", where, ("http", "https"))
        ws_url = c.url(item, "ws_url", where, ("ws", "wss"), required=False) or None
        pending = c.boolean(item, "pending_transactions", where, True)
        poll = c.number(item, "poll_interval_seconds", where, 1.0, Decimal("0.01"), Decimal(60))
        max_age = c.number(item, "max_head_age_seconds", where, 120, Decimal(1), Decimal(86400))
        backups = _backups(c, item.get("backups"), f"{where}.backups", {http_url})
        if name:
            chains[name] = ChainConfig(
                name, chain_id, http_url, ws_url, pending, float(poll), float(max_age), devnet, backups
            )

    wallet = c.mapping(top.get("wallet"), "wallet")
    c.unknown_keys(wallet, {"keystore", "cold_wallet", "min_balance_eth", "owned_contracts"}, "wallet")
    keystore = Path(c.string(wallet, "keystore", "wallet", default="/etc/mev/keystore/hot.json"))
    if "cold_wallet" not in wallet:
        c.problem("wallet.cold_wallet", "is required: withdrawals go only to the configured cold wallet")
        cold_wallet = ""
    else:
        cold_wallet = c.address(wallet, "cold_wallet", "wallet")
        if cold_wallet.lower() in BURN_ADDRESSES:
            c.problem("wallet.cold_wallet", f"{cold_wallet} is the zero or a burn address: funds sent there are lost")
            cold_wallet = ""
    min_balance = c.number(wallet, "min_balance_eth", "wallet", "0.5", Decimal(0), Decimal(1_000_000))

    trading = c.mapping(top.get("trading"), "trading")
    c.unknown_keys(
        trading,
        {
            "min_profit_eth",
            "max_gas_price_gwei",
            "priority_fee_gwei",
            "fee_bump_percent",
            "order_ttl_seconds",
            "receipt_timeout_seconds",
            "success_rate_window",
            "resend_after_seconds",
            "max_resends",
        },
        "trading",
    )
    min_profit = c.number(trading, "min_profit_eth", "trading", "0.001", Decimal(0), Decimal(1000))
    max_gas = c.number(trading, "max_gas_price_gwei", "trading", 500, Decimal("0.000001"), Decimal(100_000))
    priority = c.number(trading, "priority_fee_gwei", "trading", 1, Decimal(0), Decimal(10_000))
    bump = c.integer(trading, "fee_bump_percent", "trading", 25, 10, 1000)
    ttl = c.number(trading, "order_ttl_seconds", "trading", 12, Decimal("0.1"), Decimal(3600))
    receipt_timeout = c.number(trading, "receipt_timeout_seconds", "trading", 300, Decimal(1), Decimal(86400))
    window = c.integer(trading, "success_rate_window", "trading", 100, 1, 100_000)
    # An order without a receipt this long is sent again with fees raised by fee_bump_percent.
    resend_after = c.number(trading, "resend_after_seconds", "trading", 24, Decimal(1), Decimal(3600))
    max_resends = c.integer(trading, "max_resends", "trading", 3, 0, 20)

    strategies = c.mapping(top.get("strategies"), "strategies")
    arb: dict[str, ArbChainConfig] = {}
    for strategy_name, settings in strategies.items():
        section = c.mapping(settings, f"strategies.{strategy_name}")
        if strategy_name == "v2_cross_pool_arb":
            arb = _parse_arb(c, section, chains)
    if cold_wallet and arb:
        for chain_name, arb_chain in arb.items():
            if arb_chain.executor == cold_wallet:
                c.problem(f"strategies.v2_cross_pool_arb.chains.{chain_name}.executor", "is the cold wallet")
    # The contracts the hot wallet owns (owned.py): the executors and the desk's own.
    owned_contracts, problems = owned.owned_contracts(
        strategies, wallet.get("owned_contracts"), "wallet.owned_contracts"
    )
    c.problems += problems
    for contract in owned_contracts:
        if contract["chain"] not in chains:
            c.problem(
                "wallet.owned_contracts", f"{contract['address']} is on {contract['chain']!r}, not a configured chain"
            )

    secrets = Secrets(
        api_token=environ.get("MEV_API_TOKEN", ""),
        keystore_password=environ.get("MEV_KEYSTORE_PASSWORD", ""),
        db_password=environ.get("MEV_DB_PASSWORD", ""),
        redis_password=environ.get("MEV_REDIS_PASSWORD", ""),
    )
    if "MEV_API_TOKEN" in require_secrets and len(secrets.api_token) < MIN_TOKEN_LENGTH:
        state = "is not set" if not secrets.api_token else f"is shorter than {MIN_TOKEN_LENGTH} characters"
        c.problem("environment MEV_API_TOKEN", f"{state} (put it in the environment file)")
    if "MEV_KEYSTORE_PASSWORD" in require_secrets and not secrets.keystore_password:
        c.problem("environment MEV_KEYSTORE_PASSWORD", "is not set (put it in the environment file)")

    if c.problems:
        raise ConfigError(c.problems, source)
    return EngineConfig(
        instance=instance,
        log_level=log_level,
        redis_url=redis_url,
        stream_maxlen=stream_maxlen,
        postgres_dsn=postgres_dsn,
        api_host=api_host,
        api_port=api_port,
        chains=chains,
        keystore=keystore,
        cold_wallet=cold_wallet,
        min_balance_eth=min_balance,
        min_profit_eth=min_profit,
        max_gas_price_gwei=max_gas,
        priority_fee_gwei=priority,
        fee_bump_percent=bump,
        order_ttl_seconds=float(ttl),
        receipt_timeout_seconds=float(receipt_timeout),
        success_rate_window=window,
        strategies={name: dict(value) if isinstance(value, dict) else {} for name, value in strategies.items()},
        arb=arb,
        owned_contracts=tuple(owned_contracts),
        secrets=secrets,
        stop_file=stop_file,
        source=source,
        claim_idle_seconds=float(claim_idle),
        resend_after_seconds=float(resend_after),
        max_resends=max_resends,
    )


def _parse_arb(c: _Collector, section: dict[str, Any], chains: dict[str, ChainConfig]) -> dict[str, ArbChainConfig]:
    where = "strategies.v2_cross_pool_arb"
    c.unknown_keys(section, {"enabled", "chains"}, where)
    if not c.boolean(section, "enabled", where, True):
        return {}
    result: dict[str, ArbChainConfig] = {}
    for chain_name, raw in c.mapping(section.get("chains"), f"{where}.chains").items():
        here = f"{where}.chains.{chain_name}"
        if chain_name not in chains:
            c.problem(here, f"chain {chain_name!r} is not in chains")
        item = c.mapping(raw, here)
        c.unknown_keys(item, {"executor", "base_token", "pairs", "gas_limit"}, here)
        executor = c.address(item, "executor", here)
        base_token = c.address(item, "base_token", here)
        gas_limit = c.integer(item, "gas_limit", here, 300_000, 21_000, 30_000_000)
        pairs: list[ArbPoolPair] = []
        raw_pairs = item.get("pairs")
        if not isinstance(raw_pairs, list) or not raw_pairs:
            c.problem(f"{here}.pairs", "expected a non-empty list of [pool_a, pool_b]")
            raw_pairs = []
        for index, pair in enumerate(raw_pairs):
            if not isinstance(pair, list) or len(pair) != 2:
                c.problem(f"{here}.pairs[{index}]", f"expected [pool_a, pool_b], found {pair!r}")
                continue
            a = c.check_address(pair[0], f"{here}.pairs[{index}][0]")
            b = c.check_address(pair[1], f"{here}.pairs[{index}][1]")
            if a and a == b:
                c.problem(f"{here}.pairs[{index}]", "both pools are the same contract")
            pairs.append(ArbPoolPair(a, b))
        result[chain_name] = ArbChainConfig(executor, base_token, tuple(pairs), gas_limit)
    return result


def load_config(
    path: Path = DEFAULT_CONFIG,
    env_file: Path | None = None,
    environ: dict[str, str] | None = None,
    require_secrets: Collection[str] = REQUIRED_SECRETS,
) -> EngineConfig:
    """Read the YAML file (and the env file when given, else the process environment)."""
    environment = dict(os.environ if environ is None else environ)
    if env_file is not None:
        try:
            environment.update(read_env_file(env_file))
        except OSError as exc:
            raise ConfigError([f"cannot read the environment file: {exc.strerror}"], str(env_file)) from exc
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([f"cannot read the configuration file: {exc.strerror}"], str(path)) from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"], str(path)) from exc
    return parse_config(document, environment, source=str(path), require_secrets=require_secrets)
