"""``manage.py qrauth_status``: is Redis reachable, and what does it hold for qrauth?

Prints the server version, the orders by flow and state and the rate-limit
counters, in counts only: no key, order ref or value is ever shown, and a
password in the Redis URL or arguments is masked. Exits 0 when Redis
answered, 2 when it is unreachable (1 for any other error), so it can serve
as a health check.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import store
from ...conf import settings

UNREACHABLE = 2  # the exit code when Redis cannot be asked
MASK = "***"


def mask_url(url: str) -> str:
    """``url`` with any password (in the user info or a ``password=``
    parameter) replaced by ***; a user info without a password is masked
    whole, as redis:// URLs also carry a lone password there."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        userinfo = f"{user}:{MASK}" if colon else MASK
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(name.lower() == "password" for name, _ in pairs):
        masked = [(name, MASK if name.lower() == "password" else value) for name, value in pairs]
        query = urlencode(masked, safe="*/")
    # Not urlunsplit: it turns unix:///path into unix:/path.
    shown = f"{parts.scheme}://{userinfo}{at}{hostport}{parts.path}"
    return shown + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def where() -> str:
    """Where the store's Redis is, as the settings say, with no password."""
    if settings.REDIS_CLIENT_FACTORY:
        return f"client factory {settings.REDIS_CLIENT_FACTORY}"
    if settings.REDIS_URL:
        return mask_url(settings.REDIS_URL)
    kwargs = settings.REDIS_KWARGS
    if kwargs.get("unix_socket_path"):
        return f"unix://{kwargs['unix_socket_path']}?db={kwargs.get('db', 0)}"
    host, port, db = kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs.get("db", 0)
    return f"{host}:{port}/{db}"


def _secrets() -> list[str]:
    """The passwords the settings hold, to scrub from error messages."""
    found = []
    try:
        url = settings.REDIS_URL or ""
    except ImproperlyConfigured:  # a bad URL: read it raw, since its error quotes it
        from django.conf import settings as django_settings

        url = str(getattr(django_settings, "AUTH_QR_CODE_REDIS_URL", "") or "")
    parts = urlsplit(url)
    found.append(parts.password or parts.username or "")  # a lone user info may be one
    found += [value for name, value in parse_qsl(parts.query) if name.lower() == "password"]
    try:
        found.append(str(settings.REDIS_KWARGS.get("password") or ""))
    except (ImproperlyConfigured, AttributeError):
        pass
    return sorted({secret for secret in found if secret}, key=len, reverse=True)


def scrub(message: str) -> str:
    """``message`` without any password of the settings in it."""
    for secret in _secrets():
        message = message.replace(secret, MASK)
    return message


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _servers_text(overview: store.Overview) -> str:
    versions = overview.versions
    version = f"redis {', '.join(versions)}" if versions else "version unknown"
    if overview.cluster:
        return f"Redis Cluster, {_plural(len(overview.servers), 'master')}, {version}"
    return version


def _rate_text(rate: tuple[int, int] | None) -> str:
    return "off" if rate is None else f"{rate[0]} per {rate[1]} s"


def as_text(overview: store.Overview, at: str) -> str:
    """The report people read."""
    lines = [f"Redis: reachable ({_servers_text(overview)}) at {at}"]
    lines.append(f"Orders: {overview.open_orders} open, {overview.total_orders} in all")
    width = max((len(state) for _, state, _ in overview.orders), default=0)
    for flow, state, count in overview.orders:
        lines.append(f"  {flow:<8} {state:<{width}}  {count:>4}")
    lines.append("Rate limits (window counters):")
    width = max(len(limit.name) for limit in overview.limits)
    for limit in overview.limits:
        counted = _plural(limit.counters, "counter")
        if limit.rate is not None:
            counted += f", {limit.at_limit} at the limit"
        lines.append(f"  {limit.name:<{width}}  {counted} ({_rate_text(limit.rate)})")
    return "\n".join(lines)


def as_data(overview: store.Overview, at: str) -> dict[str, Any]:
    """The report for machines (``--json``)."""
    return {
        "reachable": True,
        "at": at,
        "cluster": overview.cluster,
        "servers": [
            {"node": node or None, "version": version or None} for node, version in overview.servers
        ],
        "versions": list(overview.versions),
        "orders": {
            "total": overview.total_orders,
            "open": overview.open_orders,
            "by_flow_and_state": [
                {"flow": flow, "state": state, "count": count}
                for flow, state, count in overview.orders
            ],
        },
        "rate_limits": [
            {
                "name": limit.name,
                "counters": limit.counters,
                "at_limit": limit.at_limit,
                "limit": None
                if limit.rate is None
                else {"count": limit.rate[0], "seconds": limit.rate[1]},
            }
            for limit in overview.limits
        ],
    }


class Command(BaseCommand):
    help = (
        "Whether qrauth's Redis is reachable, its version, the orders it holds by flow "
        "and state, and the rate-limit counters (counts only). Exits 2 when Redis is "
        "unreachable."
    )
    # The system checks would say that Redis is unreachable (W002) before
    # this command says it, in its one line on stderr.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="Print the report as one JSON object."
        )
        parser.add_argument(
            "--count",
            type=int,
            default=1000,
            help="SCAN's COUNT hint, and keys read per round trip (default 1000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["count"] < 1:
            raise CommandError("--count must be 1 or more.")
        try:
            at = where()
            overview = store.overview(options["count"])  # its own client: no breaker
        except store.StoreUnavailable as exc:
            error = scrub(str(exc))
            if options["json"]:
                data = {"reachable": False, "at": at, "error": error}
                self.stdout.write(json.dumps(data, indent=2))
            raise CommandError(f"Redis is unreachable: {error}", returncode=UNREACHABLE) from None
        except ImproperlyConfigured as exc:
            raise CommandError(scrub(str(exc))) from None
        if options["json"]:
            self.stdout.write(json.dumps(as_data(overview, at), indent=2))
        else:
            self.stdout.write(as_text(overview, at))
