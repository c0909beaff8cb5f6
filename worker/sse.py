"""Server-Sent Events framing for POST /execute (M0-W-1310, M0-W-1311, M0-W-1312).

Each event is an ``event:`` line naming it and one ``data:`` line holding compact JSON. JSON
escapes CR and LF, so one data line always suffices. :func:`parse_events` is the inverse, used by
the tests and the benchmark as a client.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .contract import Contract

MEDIA_TYPE = "text/event-stream"
# The event names of POST /execute and the ones that end its stream, from the generated contract.
EVENT_NAMES, TERMINAL_EVENTS = Contract.load().stream_events("execute")


def format_event(event: str, data: Mapping[str, Any]) -> bytes:
    """One SSE frame: ``event: NAME``, ``data: JSON``, blank line."""
    if event not in EVENT_NAMES:
        raise ValueError(f"unknown SSE event name {event!r}; expected one of {sorted(EVENT_NAMES)}")
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return f"event: {event}\ndata: {payload}\n\n".encode()


def parse_events(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """Yield ``(event, decoded data)`` from SSE text lines (without their line terminators)."""
    event = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    if data:
        yield event, json.loads("\n".join(data))
