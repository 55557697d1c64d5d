"""What ``quantbridge paper`` / ``live`` set up before the session runs: the strategy (a
catalogue prototype through the bridge), the validation gate, the exchange connection
(a real ccxt exchange, or the local exchange — started in-process on a dataset or
reached at ``--exchange-url``) and the clock on the exchange's time."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import typer

from .research_common import fail

if TYPE_CHECKING:
    import pandas as pd

    from quantbridge.datasets.exchange.server import LocalExchange
    from quantbridge.research.registry import PrototypeSpec
    from quantbridge.runtime.clock import ScaledClock
    from quantbridge.runtime.components.risk_config import RiskConfig
    from quantbridge.runtime.live.credentials import Credentials

__all__ = [
    "Connection",
    "GateResult",
    "check_account",
    "check_gate",
    "check_timeframe",
    "connect",
    "database_errors",
    "load_risk",
    "prototype_named",
]

EXIT_REFUSED: Final = 3
LOCAL: Final = "local"
DEFAULT_LOCAL_DATA: Final = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "BTCUSDT_1m.parquet"
_LOCAL_KEY: Final = "local-demo-key"
#: The wallet of an account on the in-process local exchange (USDT).
LOCAL_DEMO_BALANCE: Final = Decimal(1_000_000)
_LOCAL_SECRET: Final = "local-demo-secret"
_MIN_SECONDS: Final = 1
_MAX_SECONDS: Final = 86_400


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn a database that cannot be opened (bad URL, unreachable server, failed migration)
    into exit 2 naming it — without its password (the store's messages never show it)."""
    from sqlalchemy.exc import ArgumentError

    from quantbridge.runtime.store import DatabaseOpenError

    try:
        yield
    except DatabaseOpenError as exc:
        raise fail(f"--db: {exc}") from None
    except ArgumentError as exc:  # its text may quote the URL, password included: name the type only
        raise fail(f"--db: not a database URL SQLAlchemy can open ({type(exc).__name__})") from None


def check_account(account: str | None) -> None:
    """Exit 2 unless ``account`` (when given) is a name the store accepts."""
    from quantbridge.runtime.store._base import checked_account

    if account is None:
        return
    try:
        checked_account(account)
    except ValueError as exc:
        raise fail(f"--account: {exc}") from None


def check_timeframe(timeframe: str, exchange: str) -> None:
    """Exit 2 unless ``timeframe`` is a ccxt timeframe the candle aggregator serves (1s to 1d)
    and, on the local exchange, one of the intervals it serves."""
    import ccxt

    from quantbridge.datasets.exchange.market import LOCAL_INTERVALS

    try:
        seconds = ccxt.Exchange.parse_timeframe(timeframe)
    except (ccxt.BaseError, ValueError, TypeError):
        raise fail(f"--timeframe {timeframe!r}: not a timeframe (e.g. 1m, 15m, 1h, 1d)") from None
    if not _MIN_SECONDS <= seconds <= _MAX_SECONDS:
        raise fail(f"--timeframe {timeframe!r}: the candle interval must be from 1s to 1d")
    served = [t for t in LOCAL_INTERVALS if ccxt.Exchange.parse_timeframe(t) <= _MAX_SECONDS]
    if exchange == LOCAL and timeframe not in served:
        raise fail(f"--timeframe {timeframe!r}: the local exchange serves {', '.join(served)}")


def prototype_named(name: str) -> PrototypeSpec:
    from quantbridge.research.catalogue import CATALOGUE
    from quantbridge.research.registry import UnknownPrototypeError

    try:
        return CATALOGUE.get(name)
    except UnknownPrototypeError as exc:
        raise fail(str(exc)) from exc


# ---- the validation gate -------------------------------------------------------------------------
@dataclass(frozen=True)
class GateResult:
    certificate_id: int | None
    forced: bool
    reason: str


def check_gate(spec: PrototypeSpec, params: Mapping[str, object], db: str, force: bool, reason: str) -> GateResult:
    """The passing certificate of this exact version (code + params), or — with ``force``
    — a recorded override; otherwise exit 3 naming the missing certificate."""
    from quantbridge.validation.certificates import CertificateStore, code_hash, params_hash

    wanted_code, wanted_params = code_hash(spec.function), params_hash(dict(params))
    with database_errors(), CertificateStore(db) as store:
        cert = store.find_passing(spec.name, wanted_code, wanted_params)
        latest = store.latest(spec.name, wanted_code, wanted_params)
    if cert is not None:
        return GateResult(cert.id, False, "")
    if force:
        return GateResult(None, True, reason or "--force without a reason")
    what = "its newest certificate FAILED" if latest is not None else "no certificate exists"
    typer.echo(
        f"refused: {spec.name} (code {wanted_code[:12]}, params {wanted_params[:12]} = {dict(params)}) has no passing "
        f"parity certificate — {what}.\nRun `quantbridge validate {spec.name} --data BARS` with the same parameters "
        "first, or pass --force (recorded with the run and alerted).",
        err=True,
    )
    raise typer.Exit(EXIT_REFUSED)


def load_risk(path: Path | None) -> RiskConfig:
    """The risk chain from a JSON file (RiskConfig's fields), else the default (kill switch)."""
    from pydantic import ValidationError

    from quantbridge.runtime.components.risk_config import RiskConfig

    if path is None:
        return RiskConfig()
    try:
        return RiskConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise fail(f"--risk {path}: {exc}") from exc


# ---- the exchange --------------------------------------------------------------------------------
@dataclass
class Connection:
    """An async ccxt exchange for REST (and orders), a factory of websocket clients, the
    clock on the exchange's time, and the secrets to keep out of logs (and out of its repr:
    the REST client holds the API key and secret too)."""

    name: str
    rest: Any = field(repr=False)
    pro_factory: Any
    clock: ScaledClock
    secrets: tuple[str, ...] = field(repr=False)
    key_name: str
    url: str = ""


async def _local_speed(url: str) -> float:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(url.rstrip("/") + "/_admin/clock") as response:
        if response.status != 200:
            return 1.0
        return float((await response.json()).get("speed", 1.0))


async def _exchange_clock(rest: Any, speed: float) -> ScaledClock:
    import pandas as pd

    from quantbridge.runtime.clock import ScaledClock

    server_ms = await rest.fetch_time()
    return ScaledClock(pd.Timestamp(int(server_ms), unit="ms", tz="UTC"), speed)


def start_local_exchange(data: Path, speed: float, start: pd.Timestamp | None, warmup: int) -> LocalExchange:
    """A local exchange serving ``data`` with its clock replaying from ``start`` (default:
    ``warmup`` bars plus a margin after the data's first bar) at ``speed``; accounts
    start with :data:`LOCAL_DEMO_BALANCE` USDT."""
    from quantbridge.datasets.exchange.accounts import AccountConfig
    from quantbridge.datasets.exchange.clock import ReplayClock
    from quantbridge.datasets.exchange.market import MarketData
    from quantbridge.datasets.exchange.server import LocalExchange
    from quantbridge.datasets.readers import read_bars

    try:
        bars = read_bars(data)
    except (OSError, ValueError) as exc:
        raise fail(f"--data {data}: {exc}") from exc
    index = bars.index
    first = start if start is not None else index[min(len(index) - 1, warmup + 10)]
    clock = ReplayClock(int(first.value // 1_000_000), speed)
    market = MarketData.from_bars(bars, symbol="BTCUSDT", clock=clock)
    return LocalExchange(market, accounts=AccountConfig(balances={"USDT": LOCAL_DEMO_BALANCE})).start()


@asynccontextmanager
async def connect(exchange: str, url: str, credentials: Credentials | None) -> AsyncIterator[Connection]:
    """Open the exchange (``local`` at ``url``, else ccxt's class of that id), yield the
    connection, close it."""
    if exchange == LOCAL:
        connection = await _connect_local(url, credentials)
    else:
        connection = await _connect_ccxt(exchange, credentials)
    try:
        yield connection
    finally:
        await connection.rest.close()


async def _connect_local(url: str, credentials: Credentials | None) -> Connection:
    from quantbridge.datasets.exchange.ccxt_client import binanceusdm_async_client, binanceusdm_pro_client

    key = credentials.api_key if credentials else _LOCAL_KEY
    secret = credentials.secret if credentials else _LOCAL_SECRET
    rest = binanceusdm_async_client(url, api_key=key, secret=secret, rate_limit_ms=0)
    clock = await _exchange_clock(rest, await _local_speed(url))
    key_name = credentials.fingerprint if credentials else "demo"
    return Connection(
        LOCAL, rest, lambda: binanceusdm_pro_client(url, rate_limit_ms=0), clock, (key, secret), key_name, url
    )


async def _connect_ccxt(exchange: str, credentials: Credentials | None) -> Connection:
    import ccxt.async_support
    import ccxt.pro

    if not hasattr(ccxt.async_support, exchange) or not hasattr(ccxt.pro, exchange):
        raise fail(f"--exchange {exchange!r}: not a ccxt exchange with websocket support (e.g. binanceusdm)")
    config: dict[str, Any] = {"enableRateLimit": True}
    if credentials is not None:
        config.update(apiKey=credentials.api_key, secret=credentials.secret)
        if credentials.password:
            config["password"] = credentials.password
    rest = getattr(ccxt.async_support, exchange)(config)
    clock = await _exchange_clock(rest, 1.0)
    secrets = credentials.secrets if credentials else ()
    key_name = credentials.fingerprint if credentials else "public"
    return Connection(exchange, rest, lambda: getattr(ccxt.pro, exchange)({}), clock, secrets, key_name)


def default_account(mode: str, connection: Connection) -> str:
    return f"{mode}:{connection.name}:{connection.key_name}"
