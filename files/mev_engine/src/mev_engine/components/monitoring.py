"""Monitoring: the engine's HTTP API on api.host:api.port (127.0.0.1:8090).

    GET  /health/live                  200 while the process serves
    GET  /health/startup               200 once Redis and PostgreSQL answered at least once, else 503
    GET  /health/ready                 200 {"status": "ready"}; 200 {"status": "degraded", "degraded": {"chain:<name>":
                                       "<why>"}} while a backup provider serves a chain; or 503 {"failing": {...}}
    GET  /metrics                      Prometheus text: this process and every component (see metrics.py)
    GET  /api/v1/status                trading state, components, chains (head, its age and bound), pending count,
                                       cold wallet, instance
    POST /api/v1/trading/enable        state -> enabled
    POST /api/v1/trading/disable       state -> disabled (graceful: no new orders; in-flight transactions go on)
    POST /api/v1/emergency/stop        state -> emergency_stop, queued orders discarded, execution halts at once
    GET  /api/v1/transactions          ?status=pending|confirmed|...&chain=&limit=
    POST /api/v1/transactions/cancel   {"chain": optional} -> replacement transactions
    POST /api/v1/wallet/withdraw       {"chain": optional, "to": optional, must be the cold wallet}
                                       no chain: every configured chain, one after the other,
                                       {"chains": {name: result or {"error", "status"}}, "failed": [...]}

/api/v1 needs `Authorization: Bearer <MEV_API_TOKEN>` (compared in constant time);
anything else is 401 and counts in mev_api_auth_failures_total.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from mev_engine import streams
from mev_engine.db import Database
from mev_engine.metrics import COMPONENTS, METRICS_KEY, MergedCollector, merge_expositions
from mev_engine.runtime import Runtime
from mev_engine.state import DISABLED, EMERGENCY, ENABLED, clear_stop_file, read_state, write_state

log = logging.getLogger(__name__)

KNOWN_PATHS = {
    "/health/live",
    "/health/ready",
    "/health/startup",
    "/metrics",
    "/api/v1/status",
    "/api/v1/trading/enable",
    "/api/v1/trading/disable",
    "/api/v1/emergency/stop",
    "/api/v1/transactions",
    "/api/v1/transactions/cancel",
    "/api/v1/wallet/withdraw",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))


class Monitor:
    def __init__(self, runtime: Runtime, database: Database) -> None:
        self.runtime = runtime
        self.config = runtime.config
        self.sync_redis = runtime.redis  # state.py helpers are synchronous; run them in a thread
        self.redis: Any = None
        self.db = database
        self.metrics = runtime.metrics
        self.started = False
        self.token = self.config.secrets.api_token.encode()
        self.scrape_registry = CollectorRegistry(auto_describe=False)
        self.scrape_registry.register(MergedCollector(self._families))
        self._remote: list[str] = []

    # ------------------------------------------------------------------ middleware

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        path = request.path if request.path in KNOWN_PATHS else "other"  # bounded label values
        code = 500
        try:
            if request.path.startswith("/api/") and not self._authorised(request):
                self.metrics["mev_api_auth_failures_total"].inc()
                code = 401
                return _json({"error": "missing or wrong bearer token"}, status=401)
            response = await handler(request)
            code = response.status
            return response
        except web.HTTPException as exc:
            code = exc.status
            raise
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return _json({"error": "internal error, see the mev-monitoring journal"}, status=500)
        finally:
            self.metrics["mev_api_requests_total"].labels(path=path, code=str(code)).inc()
            self.metrics["mev_api_request_duration_seconds"].labels(
                path=path, method=request.method, code=str(code)
            ).observe(time.perf_counter() - started)

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _space, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return False
        return hmac.compare_digest(presented.strip().encode(), self.token)

    # ------------------------------------------------------------------ health

    async def live(self, _request: web.Request) -> web.Response:
        return _json({"status": "alive"})

    async def startup(self, _request: web.Request) -> web.Response:
        if self.started:
            return _json({"status": "started"})
        failing = await self._check_dependencies(components=False, chains=False)
        if not failing:
            self.started = True
            return _json({"status": "started"})
        return _json({"status": "starting", "failing": failing}, status=503)

    async def ready(self, _request: web.Request) -> web.Response:
        degraded: dict[str, str] = {}
        failing = await self._check_dependencies(components=True, chains=True, degraded=degraded)
        if failing:
            body = {"status": "not ready", "failing": failing} | ({"degraded": degraded} if degraded else {})
            return _json(body, status=503)
        self.started = True
        if degraded:  # ready, on a backup provider: still trading, not as it should be
            return _json({"status": "degraded", "degraded": degraded})
        return _json({"status": "ready"})

    async def _check_dependencies(
        self, components: bool, chains: bool, degraded: dict[str, str] | None = None
    ) -> dict[str, str]:
        failing: dict[str, str] = {}
        try:
            await self.redis.ping()
        except Exception as exc:
            failing["redis"] = f"Redis at {self.config.redis_url} does not answer: {exc}"
            return failing  # everything else is read from Redis
        try:
            await asyncio.to_thread(self.db.ping)
        except Exception as exc:
            failing["postgresql"] = f"PostgreSQL does not answer or lacks mev.transactions: {exc}".strip()
        if components:
            for component in COMPONENTS:
                if component == "monitoring":
                    continue
                if not await self.redis.exists(METRICS_KEY.format(component=component)):
                    failing[f"component:{component}"] = f"mev-{component} has not reported for 15 s (is it running?)"
        if chains:
            now = time.time()
            for name, chain in self.config.chains.items():
                head = await self.redis.hgetall(streams.CHAIN_HEAD.format(chain=name))
                if not head:
                    failing[f"chain:{name}"] = "no head seen yet"
                    continue
                endpoint = head.get(b"endpoint", b"primary").decode()
                if degraded is not None and endpoint != "primary":
                    shown = next((e.shown for e in chain.endpoints if e.label == endpoint), endpoint)
                    degraded[f"chain:{name}"] = (
                        f"detection follows {endpoint} {shown}: the primary {chain.endpoints[0].shown} failed"
                    )
                age = now - float(head[b"block_timestamp"])
                if age > chain.max_head_age_seconds:
                    failing[f"chain:{name}"] = (
                        f"newest head {int(head[b'block_number'])} is {age:.0f}s old "
                        f"(max_head_age_seconds {chain.max_head_age_seconds:g})"
                    )
        return failing

    # ------------------------------------------------------------------ metrics

    def _families(self) -> Any:
        return merge_expositions([self.metrics.exposition().decode(), *self._remote])

    async def metrics_endpoint(self, _request: web.Request) -> web.Response:
        state = await asyncio.to_thread(read_state, self.sync_redis)
        self.metrics["mev_trading_enabled"].set(1 if state.enabled else 0)
        keys = [METRICS_KEY.format(component=c) for c in COMPONENTS if c != "monitoring"]
        texts = await self.redis.mget(keys)
        for component, text in zip([c for c in COMPONENTS if c != "monitoring"], texts, strict=True):
            self.metrics["mev_component_up"].labels(component=component).set(1 if text else 0)
        self.metrics["mev_component_up"].labels(component="monitoring").set(1)
        self._remote = [t.decode() for t in texts if t]
        body = await asyncio.to_thread(generate_latest, self.scrape_registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    # ------------------------------------------------------------------ api

    async def status(self, _request: web.Request) -> web.Response:
        state = await asyncio.to_thread(read_state, self.sync_redis)
        components = {}
        for component in COMPONENTS:
            up = component == "monitoring" or bool(await self.redis.exists(METRICS_KEY.format(component=component)))
            components[component] = {"up": up}
        chains = {}
        now = time.time()
        for name, chain in self.config.chains.items():
            head = await self.redis.hgetall(streams.CHAIN_HEAD.format(chain=name))
            chains[name] = {
                "head": int(head[b"block_number"]) if head else None,
                "head_age_seconds": round(now - float(head[b"block_timestamp"]), 3) if head else None,
                "max_head_age_seconds": chain.max_head_age_seconds,  # the bound /health/ready applies
            }
        try:
            pending = await asyncio.to_thread(self.db.open_transactions)
            pending_count: int | None = len(pending)
        except Exception as exc:
            log.error("status: cannot count pending transactions: %s", exc)
            pending_count = None
        return _json(
            {
                "trading": state.as_dict(),
                "components": components,
                "chains": chains,
                "pending_transactions": pending_count,
                "cold_wallet": self.config.cold_wallet,
                "instance": self.config.instance,
            }
        )

    async def _switch(self, request: web.Request, state: str) -> web.Response:
        reason = ""
        if request.can_read_body:
            try:
                reason = str((await request.json()).get("reason", ""))
            except (ValueError, AttributeError):
                return _json({"error": "body must be a JSON object"}, status=400)
        before = await asyncio.to_thread(read_state, self.sync_redis)
        if state == EMERGENCY:
            await self.redis.xtrim(streams.ORDERS, maxlen=0)  # queued orders are discarded, not executed
        if state == ENABLED:
            try:
                await asyncio.to_thread(clear_stop_file, self.config.stop_file)
            except OSError as exc:  # the stop would come back at the next start: refuse instead
                return _json(
                    {"error": f"cannot remove the recorded emergency stop {self.config.stop_file}: {exc}"}, 500
                )
        after = await asyncio.to_thread(
            write_state, self.sync_redis, state, reason or f"set through the API to {state}"
        )
        self.metrics["mev_trading_enabled"].set(1 if after.enabled else 0)
        log.warning("trading %s -> %s (%s)", before.state, after.state, after.reason)
        return _json({"trading": after.as_dict(), "changed": before.state != after.state, "previous": before.state})

    async def enable(self, request: web.Request) -> web.Response:
        return await self._switch(request, ENABLED)

    async def disable(self, request: web.Request) -> web.Response:
        return await self._switch(request, DISABLED)

    async def emergency(self, request: web.Request) -> web.Response:
        return await self._switch(request, EMERGENCY)

    async def transactions(self, request: web.Request) -> web.Response:
        status = request.query.get("status") or None
        chain = request.query.get("chain") or None
        try:
            limit = min(max(int(request.query.get("limit", "100")), 1), 10_000)
        except ValueError:
            return _json({"error": "limit must be an integer"}, status=400)
        rows = await asyncio.to_thread(self.db.transactions, status, chain, limit)
        for row in rows:
            for key, value in row.items():
                if isinstance(value, Decimal):
                    row[key] = str(value)
        return _json({"transactions": rows, "count": len(rows)})

    async def _reply(self, command: str, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of a command sent to mev-execution."""
        if not await self.redis.exists(METRICS_KEY.format(component="execution")):
            return 503, {"error": f"mev-execution is not running (no report for 15 s): cannot {command}"}
        request_id = uuid.uuid4().hex
        fields = {"id": request_id, "command": command, "args": json.dumps(args), "sent_at": f"{time.time():.3f}"}
        await self.redis.xadd(streams.COMMANDS, fields, maxlen=10_000, approximate=True)
        limit = streams.COMMAND_TIMEOUT_SECONDS
        answer = await self.redis.blpop([streams.REPLY.format(id=request_id)], timeout=limit)
        if answer is None:
            return 504, {"error": f"mev-execution did not answer the {command} command within {limit}s"}
        reply = json.loads(answer[1])
        if not reply["ok"]:
            return int(reply.get("code", 500)), {"error": reply["error"]}
        return 200, reply["result"]

    async def _command(self, command: str, args: dict[str, Any]) -> web.Response:
        status, body = await self._reply(command, args)
        return _json(body, status=status)

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError as exc:
            raise web.HTTPBadRequest(text='{"error": "body must be JSON"}', content_type="application/json") from exc
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text='{"error": "body must be a JSON object"}', content_type="application/json")
        return body

    async def cancel(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        return await self._command("cancel", {"chain": body.get("chain")})

    async def withdraw(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        to = body.get("to")
        if to is not None and str(to).lower() != self.config.cold_wallet.lower():
            return _json(
                {"error": f"withdrawals go only to the configured cold wallet {self.config.cold_wallet}"}, status=403
            )
        if body.get("chain"):
            return await self._command("withdraw", {"chain": body["chain"], "to": to})
        # No chain (the runbook's `mev-cli wallet withdraw --emergency --to $COLD_WALLET`): every
        # configured chain, one after the other, each reported. A chain with nothing to withdraw is
        # not a failure; the answer's status is the worst failure's, 200 when there is none.
        chains: dict[str, dict[str, Any]] = {}
        for name in self.config.chains:
            status, answer = await self._reply("withdraw", {"chain": name, "to": to})
            chains[name] = answer if status == 200 else {**answer, "status": status}
        failed = [
            name
            for name, answer in chains.items()
            if "error" in answer and not str(answer["error"]).startswith(streams.NOTHING_TO_WITHDRAW)
        ]
        result: dict[str, Any] = {"chains": chains, "failed": failed}
        if failed:
            result["error"] = "withdrawal failed on " + ", ".join(f"{n} ({chains[n]['error']})" for n in failed)
        return _json(result, status=max((int(chains[n]["status"]) for n in failed), default=200))

    # ------------------------------------------------------------------ app

    def app(self) -> web.Application:
        application = web.Application(middlewares=[self.middleware])
        application.add_routes(
            [
                web.get("/health/live", self.live),
                web.get("/health/ready", self.ready),
                web.get("/health/startup", self.startup),
                web.get("/metrics", self.metrics_endpoint),
                web.get("/api/v1/status", self.status),
                web.post("/api/v1/trading/enable", self.enable),
                web.post("/api/v1/trading/disable", self.disable),
                web.post("/api/v1/emergency/stop", self.emergency),
                web.get("/api/v1/transactions", self.transactions),
                web.post("/api/v1/transactions/cancel", self.cancel),
                web.post("/api/v1/wallet/withdraw", self.withdraw),
            ]
        )
        return application

    async def serve(self) -> None:
        self.redis = aioredis.from_url(self.config.redis_url_with_password(), socket_connect_timeout=5)
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.config.api_host, self.config.api_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(f"cannot listen on {self.config.api_host}:{self.config.api_port}: {exc.strerror}") from exc
        log.info("listening on http://%s:%d", self.config.api_host, self.config.api_port)
        await asyncio.get_running_loop().run_in_executor(None, self.runtime.stop.wait)
        await runner.cleanup()
        await self.redis.aclose()


def run(runtime: Runtime) -> None:
    database = Database(runtime.config.postgres_dsn_with_password(), "mev-monitoring")
    try:
        asyncio.run(Monitor(runtime, database).serve())
    finally:
        database.close()
