"""What Redis holds for qrauth, in counts only, for ``manage.py qrauth_status``.

Asks Redis on a connection of its own, with no circuit breaker: a report
on Redis must ask it now, whatever the web requests of this process saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from ..conf import settings
from ..model import Flow, Rate, State
from .client import Connection
from .keys import limits_prefix

__all__ = ["LIMIT_NAMES", "LimitCounters", "Overview", "overview"]

# The rate limits of limits.py, by the name in their counters' keys.
LIMIT_NAMES = tuple(rate.value for rate in Rate)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class LimitCounters:
    """The counters of one rate limit now in Redis: how many windows are
    running (one per session, user or network), and how many of them are
    at or over the configured count. ``rate`` is that (count, seconds), or
    None when the limit is off."""

    name: str
    counters: int
    at_limit: int
    rate: tuple[int, int] | None


@dataclass(frozen=True)
class Overview:
    """What Redis holds for qrauth, in counts only (no key, ref or value).

    ``servers``: (node, redis_version) for each server asked; the node is
    "host:port" on Redis Cluster (each master) and "" for a single Redis;
    the version is "" where INFO is refused (ACLs, renamed commands).
    ``orders``: (flow name, state name, how many), flows then states in
    the order of Flow and State. ``open_orders``: those
    pending or scanned. ``limits``: every known limit, then any other
    found in Redis."""

    cluster: bool
    servers: tuple[tuple[str, str], ...]
    orders: tuple[tuple[str, str, int], ...]
    open_orders: int
    limits: tuple[LimitCounters, ...]

    @property
    def total_orders(self) -> int:
        return sum(count for _, _, count in self.orders)

    @property
    def versions(self) -> tuple[str, ...]:
        """The distinct server versions known, lowest first."""
        known = {version for _, version in self.servers if version}
        return tuple(sorted(known, key=_version_key))


def _version_key(version: str) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in version.split("."))


def overview(count: int = 1000) -> Overview:
    """Count qrauth's keys: the orders by flow and state, and the rate-limit
    counters; and ask each server its version.

    Walks the keyspace with SCAN (on Redis Cluster, every master), never
    KEYS, so a large Redis is not blocked; ``count`` is SCAN's COUNT hint
    and how many keys are read per pipelined round trip. Orders and
    counters may expire while it runs: the counts are a snapshot, not a
    transaction. Raises StoreUnavailable when Redis cannot be asked.
    """
    connection = Connection(breaker=None)
    try:
        return connection.guarded(lambda: _overview(connection.client, max(int(count), 1)))
    finally:
        if not settings.REDIS_CLIENT_FACTORY:  # a factory's client may be shared
            connection.close()


def _overview(client: Any, count: int) -> Overview:
    cluster = isinstance(client, redis.cluster.RedisCluster)
    prefix = _glob_escape(settings.KEY_PREFIX)
    orders = _count_orders(client, f"{prefix}:{{*", count)
    counters = _count_limits(client, f"{prefix}:limit:*", count)
    open_letters = {state.letter for state in State.OPEN}
    open_orders = sum(n for (_, state), n in orders.items() if state in open_letters)
    return Overview(
        cluster=cluster,
        servers=_server_versions(client, cluster),
        orders=_named_orders(orders),
        open_orders=open_orders,
        limits=_limit_counters(counters),
    )


def _glob_escape(text: str) -> str:
    """``text`` as a literal in a SCAN MATCH pattern (a key prefix may hold * ? [ ])."""
    return "".join(f"\\{char}" if char in "\\*?[]" else char for char in text)


def _server_versions(client: Any, cluster: bool) -> tuple[tuple[str, str], ...]:
    if not cluster:
        return (("", _redis_version(lambda: client.info("server"))),)
    nodes = sorted(client.get_primaries(), key=lambda node: node.name)
    return tuple(
        (node.name, _redis_version(lambda node=node: client.info("server", target_nodes=node)))
        for node in nodes
    )


def _redis_version(info: Any) -> str:
    try:
        return _text(info().get("redis_version"))
    except redis.exceptions.ResponseError:  # INFO refused or unknown (fakeredis): no version
        return ""


def _batches(client: Any, match: str, count: int) -> Any:
    """The keys matching ``match``, by SCAN, each once, in lists of ``count``."""
    seen: set[Any] = set()  # SCAN may return a key more than once
    batch: list[Any] = []
    for key in client.scan_iter(match=match, count=count):
        if key in seen:
            continue
        seen.add(key)
        batch.append(key)
        if len(batch) >= count:
            yield batch
            batch = []
    if batch:
        yield batch


def _read_all(client: Any, keys: list[Any], read: Any) -> list[Any]:
    """``read(pipe, key)`` for each key in one pipelined round trip (per node on
    a cluster); a key of another type (WRONGTYPE) reads as None."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        read(pipe, key)
    results = pipe.execute(raise_on_error=False)
    for index, result in enumerate(results):
        if isinstance(result, redis.exceptions.ResponseError):
            results[index] = None  # not one of ours after all
        elif isinstance(result, Exception):
            raise result
    return results


def _count_orders(client: Any, match: str, count: int) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for keys in _batches(client, match, count):
        for values in _read_all(client, keys, lambda pipe, key: pipe.hmget(key, "f", "s")):
            if not values or values[1] is None:  # expired meanwhile, or not an order
                continue
            flow_state = (_text(values[0]), _text(values[1]))
            found[flow_state] = found.get(flow_state, 0) + 1
    return found


def _named_orders(found: dict[tuple[str, str], int]) -> tuple[tuple[str, str, int], ...]:
    flows, states = [flow.letter for flow in Flow], [state.letter for state in State]

    def order(item: tuple[tuple[str, str], int]) -> tuple[int, int, str, str]:
        (flow, state), _ = item
        flow_rank = flows.index(flow) if flow in flows else len(flows)
        state_rank = states.index(state) if state in states else len(states)
        return flow_rank, state_rank, flow, state

    return tuple(
        (_name(Flow, flow), _name(State, state), n)
        for (flow, state), n in sorted(found.items(), key=order)
    )


def _count_limits(client: Any, match: str, count: int) -> dict[str, list[int]]:
    """The values of the rate-limit counters (<prefix>:limit:<name>:{<hash>}), by name."""
    start = limits_prefix()
    found: dict[str, list[int]] = {}
    for keys in _batches(client, match, count):
        values = _read_all(client, keys, lambda pipe, key: pipe.get(key))
        for key, value in zip(keys, values, strict=True):
            name, tagged, _ = _text(key)[len(start) :].partition(":{")
            if not tagged or value is None:  # not a counter, or expired meanwhile
                continue
            try:
                hits = int(_text(value))
            except ValueError:  # not a counter of ours
                continue
            found.setdefault(name, []).append(hits)
    return found


def _limit_counters(found: dict[str, list[int]]) -> tuple[LimitCounters, ...]:
    names = [*LIMIT_NAMES, *sorted(set(found) - set(LIMIT_NAMES))]
    limits = []
    for name in names:
        rate = getattr(settings, Rate(name).setting) if name in LIMIT_NAMES else None
        rate = tuple(rate) if rate is not None else None
        values = found.get(name, [])
        at_limit = sum(1 for value in values if value >= rate[0]) if rate else 0
        limits.append(LimitCounters(name, len(values), at_limit, rate))
    return tuple(limits)


def _name(kind: Any, letter: str) -> str:
    member = kind.from_letter(letter)
    return member.value if member else "unknown"
