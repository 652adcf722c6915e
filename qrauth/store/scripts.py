"""The Lua scripts the store runs in Redis, one per step of an order, read
from ``lua/<name>.lua`` and called with named arguments.

Redis runs a script from start to end alone, so a check and the change it
allows cannot be split by another client: two phones racing for one code
cannot both win. Every script touches one key (one hash slot), so all of
them run unchanged on Redis Cluster.

Each file opens with its contract::

    -- KEYS[1]: the order
    -- ARGV: binding, take           (named, in order; "...fields" takes the rest as pairs)
    -- Returns: ...

and may include a shared piece with ``--#include <name>`` (``lua/lib/``).
A script that changes an order's state announces it (``announce``, in
``lua/lib/announce.lua``): the waiting screens' streams hear of it.
What Redis runs (``Script.source``, which a test can print) is a preamble
made here (the state and flow letters of qrauth.model, and ``ARG``: the
arguments by name), then the included pieces, then the file.

An order is a hash with one-letter fields (an open order stays well under
512 bytes):

    f  flow (Flow letters)                s  state (State letters)
    t  created, wall-clock seconds        b  the issuing browser's binding digest
    d  the scanner's device               m  "1" once the static code was minted
    u  user id                            a  that user's auth digest
    k  hand-off: the issuing session's key, sealed (see qrauth/sessions.py)
    r  approve: the requesting browser    i  the IP address of the other device
    n  approve: "1" with number matching  c  the claiming session's digest
    v  approve: the digest of the last signed-in phone session that
       scanned; the number to match is derived from it (tokens.match_number)
    z  the seal: a MAC of the fields that decide a sign-in (tokens.order_seal)
    e  approve: when it was approved, seconds (the seal's time; a
       hand-off's is t, when it was issued; orders of earlier builds keep e)
    l  the issuing browser's last status poll, ms
    y  hand-off: the waiting phone's last status poll, ms

Bindings and claims are compared inside Redis. Both sides are HMAC digests
the client cannot steer byte by byte, so the comparison's timing leaks
nothing.
"""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any

from ..model import Flow, State

__all__ = ["SCRIPTS", "Script", "pairs"]

_LUA = files("qrauth.store").joinpath("lua")
_INCLUDE = re.compile(r"^--#include (\w+)$", re.MULTILINE)
_ARGV = re.compile(r"^-- ARGV:(.*)$", re.MULTILINE)


def _lua_table(entries: dict[str, str]) -> str:
    return "{" + ", ".join(f"{name} = '{value}'" for name, value in entries.items()) + "}"


def _lua_set(states: frozenset[State]) -> str:
    return "{" + ", ".join(f"{state.letter} = true" for state in sorted(states)) + "}"


def _letters() -> str:
    """The flow and state letters, and the named sets of states, as Lua."""
    return "\n".join(
        [
            f"local FLOW = {_lua_table({flow.value: flow.letter for flow in Flow})}",
            f"local STATE = {_lua_table({state.value: state.letter for state in State})}",
            f"local OPEN = {_lua_set(State.OPEN)}",
            f"local CANCELLABLE = {_lua_set(State.CANCELLABLE)}",
        ]
    )


class Script:
    """One script: its full source, and its arguments by name."""

    def __init__(self, name: str) -> None:
        self.name = name
        text = _LUA.joinpath(f"{name}.lua").read_text(encoding="utf-8")
        self.args, self.rest = _parse_argv(name, text)
        body = _INCLUDE.sub(lambda match: _library(match.group(1)), text)
        self.source = "\n".join([_letters(), self._arg_table(), body])

    def __repr__(self) -> str:
        return f"<Script {self.name.upper()}>"

    def _arg_table(self) -> str:
        named = [f"{arg} = ARGV[{index}]" for index, arg in enumerate(self.args, 1)]
        if self.rest:
            named.append(f"{self.rest} = {{unpack(ARGV, {len(self.args) + 1})}}")
        return "local ARG = {" + ", ".join(named) + "}"

    def argv(self, named: dict[str, Any]) -> list[Any]:
        """The arguments in the order the script reads them. A missing or an
        unknown one is a programming error, caught before Redis is asked."""
        expected = {*self.args, *([self.rest] if self.rest else [])}
        if set(named) != expected:
            missing, extra = expected - set(named), set(named) - expected
            raise TypeError(f"{self.name}: missing {sorted(missing)}, unknown {sorted(extra)}")
        argv = [_arg(named[arg]) for arg in self.args]
        if self.rest:
            argv += [_arg(item) for pair in named[self.rest].items() for item in pair]
        return argv


def _parse_argv(name: str, text: str) -> tuple[list[str], str]:
    match = _ARGV.search(text)
    if match is None:
        raise ValueError(f"{name}.lua has no '-- ARGV:' line")
    args = [arg.strip() for arg in match.group(1).split(",") if arg.strip()]
    rest = args.pop()[3:] if args and args[-1].startswith("...") else ""
    return args, rest


def _library(name: str) -> str:
    return _LUA.joinpath("lib", f"{name}.lua").read_text(encoding="utf-8")


def _arg(value: Any) -> Any:
    """What Redis gets for a Python value: a flag as 1 or 0, a flow or state
    as its letter."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (Flow, State)):
        return value.letter
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def pairs(values: Any) -> dict[str, str] | None:
    """A script's field/value pairs as a dict of text; None for Redis's nil."""
    if values is None:
        return None
    flat = [_text(value) for value in values]
    return dict(zip(flat[::2], flat[1::2], strict=True))


_NAMES = (
    "issue picture scan peek consume ask_desktop desktop_decide claimer_status finish "
    "decline decide collect refuse status cancel hit unhit drop stream_open stream_close"
).split()
SCRIPTS = {name: Script(name) for name in _NAMES}

ISSUE = SCRIPTS["issue"]
PICTURE = SCRIPTS["picture"]
SCAN = SCRIPTS["scan"]
PEEK = SCRIPTS["peek"]
CONSUME = SCRIPTS["consume"]
ASK_DESKTOP = SCRIPTS["ask_desktop"]
DESKTOP_DECIDE = SCRIPTS["desktop_decide"]
CLAIMER_STATUS = SCRIPTS["claimer_status"]
FINISH = SCRIPTS["finish"]
DECLINE = SCRIPTS["decline"]
DECIDE = SCRIPTS["decide"]
COLLECT = SCRIPTS["collect"]
REFUSE = SCRIPTS["refuse"]
STATUS = SCRIPTS["status"]
CANCEL = SCRIPTS["cancel"]
HIT = SCRIPTS["hit"]
UNHIT = SCRIPTS["unhit"]
DROP = SCRIPTS["drop"]
STREAM_OPEN = SCRIPTS["stream_open"]
STREAM_CLOSE = SCRIPTS["stream_close"]
