"""SSE framing of the worker's events (M0-W-1310/1312), without a server."""

from __future__ import annotations

import pytest

from worker.sse import format_event, parse_events


def test_frame_layout() -> None:
    assert format_event("token", {"t": "hi", "i": 0}) == b'event: token\ndata: {"t":"hi","i":0}\n\n'


def test_round_trip_keeps_newlines_and_unicode_on_one_data_line() -> None:
    data = {"t": "a\nb\r\nc\u2028é😀", "i": 3}
    frame = format_event("token", data)
    assert frame.count(b"\n") == 3  # event line, data line, blank line
    assert list(parse_events(frame.decode().split("\n"))) == [("token", data)]


def test_parse_several_events_comments_and_multiline_data() -> None:
    text = (format_event("started", {"job_id": "j"}) + b": keep-alive\n\n"
            + b"event: end\ndata: {\"a\":\ndata: 1}\n\n").decode()
    assert list(parse_events(text.split("\n"))) == [("started", {"job_id": "j"}), ("end", {"a": 1})]


def test_unknown_event_names_and_nan_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown SSE event name"):
        format_event("metrics", {})
    with pytest.raises(ValueError):
        format_event("end", {"decode_time_ms": float("nan")})
