"""The words of the engine: flows, states, an order, what a step returns,
and the two errors every caller handles. Nothing here talks to Redis or HTTP.

Flows and states each have one definition: a name (what signals, policies,
logs and ``qrauth_status`` say) and a one-letter code (what an order keeps
in Redis, so an open order stays small). The Lua scripts get their letters
from here too (store/scripts.py writes them into each script's preamble).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = [
    "Collected",
    "Decision",
    "Flow",
    "Issue",
    "Limit",
    "Order",
    "OverLimit",
    "Rate",
    "State",
    "Status",
    "StoreUnavailable",
]


class _Coded(str, Enum):
    """A name that is also a string (``Flow.HANDOFF == "handoff"``), stored
    in Redis as one letter."""

    letter: str

    def __new__(cls, name: str, letter: str) -> _Coded:
        member = str.__new__(cls, name)
        member._value_ = name
        member.letter = letter
        return member

    # In messages, templates and logs a member reads as its name.
    __str__ = str.__str__
    __format__ = str.__format__

    @classmethod
    def from_letter(cls, letter: str) -> Any:
        """The member stored as ``letter``; None for a letter of no member."""
        return _by_letter(cls).get(letter)


@functools.cache
def _by_letter(kind: type[_Coded]) -> dict[str, Any]:
    return {member.letter: member for member in kind}


class Flow(_Coded):
    """Hand-off: a signed-in desktop shows a code, a phone scans it and
    becomes that user. Approve: an anonymous browser shows a code, a
    signed-in phone approves it, and the browser becomes the phone's user."""

    HANDOFF = "handoff", "h"
    APPROVE = "approve", "a"

    @property
    def anonymous_issuer(self) -> bool:
        """Whether the browser that shows the code is not signed in: its
        codes count against its network and the site, not a user."""
        return self is Flow.APPROVE

    @property
    def setting(self) -> str:
        """The setting that turns the flow on (``AUTH_QR_CODE_`` + this)."""
        return f"{self.name}_ENABLED"


class State(_Coded):
    PENDING = "pending", "p"
    SCANNED = "scanned", "s"
    APPROVED = "approved", "a"
    CONSUMED = "consumed", "c"
    CANCELLED = "cancelled", "x"
    DENIED = "denied", "n"
    WRONG_NUMBER = "wrong_number", "w"  # denied: the phone typed another number
    REFUSED = "refused", "r"  # approved, then refused at collect (the account changed)
    ASKING_DESKTOP = "asking_desktop", "q"  # hand-off with desktop confirmation
    ALLOWED = "allowed", "g"  # ... which the desktop allowed


# Named sets of states (attributes of State, so ``State.OPEN``).
State.OPEN = frozenset({State.PENDING, State.SCANNED})  # a code may still be used
# What the issuing browser may still call off: not used up, not over.
State.CANCELLABLE = frozenset(
    {State.PENDING, State.SCANNED, State.APPROVED, State.ASKING_DESKTOP, State.ALLOWED}
)


class Rate(str, Enum):
    """The rate limits, by the name in their counters' keys; each is set by
    the setting of the same name in capitals (``AUTH_QR_CODE_`` + name)."""

    ORDERS_PER_SESSION = "orders_per_session"
    ORDERS_PER_USER = "orders_per_user"
    APPROVE_ORDERS_PER_IP = "approve_orders_per_ip"
    SCAN_FAILURES_PER_IP = "scan_failures_per_ip"
    APPROVE_ORDERS_PER_SITE = "approve_orders_per_site"

    __str__ = str.__str__
    __format__ = str.__format__

    @property
    def setting(self) -> str:
        """Its name in qrauth.conf.settings."""
        return self.value.upper()


class StoreUnavailable(Exception):
    """Redis cannot be reached now; the caller answers 503."""


class OverLimit(Exception):
    """A rate limit said no; the caller answers 429. ``retry_after``: the
    seconds until the same request would be let through."""

    def __init__(self, retry_after: float, limit: str = "") -> None:
        super().__init__(f"over the limit {limit or 'of polls'}; retry in {retry_after} s")
        self.retry_after = retry_after
        self.limit = limit


@dataclass(frozen=True)
class Limit:
    """At most ``count`` requests of one ``name`` by one ``who`` (a browser
    session's id, a user id, a network, the site) in a fixed window of
    ``window`` seconds."""

    name: str
    who: str = field(repr=False)  # never logged: ``shown`` is what a log may say
    count: int
    window: int
    shown: str = ""  # what a log line may say of ``who`` (an address, a user id)


@dataclass(frozen=True)
class Order:
    id: str = field(repr=False)  # the public id: in URLs, never in logs
    ref: str
    flow: Flow | None  # None: not a flow of ours (edited in Redis)
    state: State | None  # None: not a state of ours
    user_id: str
    auth_digest: str
    created: int
    device: str
    minted: bool
    issuer: str = field(repr=False)  # hand-off: the issuing session's key, sealed
    binding: str = field(default="", repr=False)  # the issuing browser's binding digest
    requester: str = ""  # approve: the browser that asks to be signed in
    requester_ip: str = ""
    number: str = ""  # approve: "1" with number matching (see tokens.match_number)
    claimer: str = field(default="", repr=False)
    viewer: str = field(default="", repr=False)  # approve: the last signed-in scanner
    seal: str = field(default="", repr=False)
    sealed_at: int = 0  # when the step the seal allows was taken
    usable: bool = False  # by the token it was read with, at that moment

    @property
    def state_name(self) -> str:
        return self.state.value if self.state else "unknown"

    @property
    def is_open(self) -> bool:
        return self.state in State.OPEN

    @property
    def approver(self) -> str:
        """Approve: the claimer digest of the phone session that approved
        it. A hand-off has none: its claimer, if any, is the phone that
        signs itself in."""
        return self.claimer if self.flow is Flow.APPROVE else ""

    @property
    def approver_device(self) -> str:
        """Approve: the device of the phone that approved it."""
        return self.device if self.flow is Flow.APPROVE else ""


@dataclass(frozen=True)
class Issue:
    """What comes with storing a new order: the browser's previous order of
    the flow to cancel, (order id, binding digest), and the limits to count."""

    replaces: tuple[str, str] | None = None
    limits: list[Limit] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    """What became of a phone's answer to an approve order.

    ``outcome``: "decided" (this answer claimed the order: ``state`` is
    APPROVED, DENIED or WRONG_NUMBER), "mine" (this session had already
    answered), "taken" (another session had), or "unusable" (gone,
    cancelled, stale, or not an approve order; ``state`` None when as good
    as gone)."""

    outcome: str
    state: State | None
    requester: str = ""  # "decided": the browser that asked, as it described itself
    requester_ip: str = ""


@dataclass(frozen=True)
class Collected:
    """An approve order as its browser found it when it came to sign in:
    ``found`` is the state it was in; ``signed_in`` says it was approved,
    and that this call used it up."""

    found: State | None
    order: Order

    @property
    def signed_in(self) -> bool:
        return self.found == State.APPROVED


@dataclass(frozen=True)
class Status:
    state: State | None
    created: int
    device: str
    expires_in: float
    number: str = ""  # approve: "1" with number matching
    flow: Flow | None = Flow.HANDOFF
    address: str = ""
    viewer: str = ""  # approve: the last signed-in phone session that scanned
