"""The retry policy, as pure functions: no I/O, no sleeping."""

from __future__ import annotations

import email.utils

import pytest

from assistants_async._retry import (
    MAX_RETRY_AFTER,
    backoff_delay,
    parse_retry_after,
    retry_decision,
    should_retry,
)

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (408, True),
        (409, True),
        (422, False),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
    ],
)
def test_which_statuses_are_retried(status: int, expected: bool) -> None:
    assert should_retry(status, {}) is expected


@pytest.mark.parametrize("status", [400, 404, 429, 500])
def test_x_should_retry_overrides_the_status(status: int) -> None:
    assert should_retry(status, {"x-should-retry": "true"}) is True
    assert should_retry(status, {"X-Should-Retry": "false"}) is False


def test_x_should_retry_with_another_value_is_ignored() -> None:
    assert should_retry(400, {"x-should-retry": "maybe"}) is False
    assert should_retry(503, {"x-should-retry": "maybe"}) is True


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "1500.5"}, 1.5005),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        # retry-after-ms wins when both are there
        ({"retry-after-ms": "100", "retry-after": "9"}, 0.1),
        # a broken retry-after-ms falls back to retry-after
        ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "garbage"}, None),
        ({}, None),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, NOW) == expected


def test_retry_after_as_http_date() -> None:
    date = email.utils.formatdate(NOW + 7, usegmt=True)
    assert parse_retry_after({"retry-after": date}, NOW) == pytest.approx(7.0)
    past = email.utils.formatdate(NOW - 30, usegmt=True)
    assert parse_retry_after({"retry-after": past}, NOW) == 0.0


@pytest.mark.parametrize(
    ("retries_done", "base"), [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]
)
def test_backoff_doubles_to_a_cap_with_up_to_a_quarter_jitter(
    retries_done: int, base: float
) -> None:
    assert backoff_delay(retries_done, rand=lambda: 0.0) == base
    assert backoff_delay(retries_done, rand=lambda: 1.0) == base * 0.75
    assert base * 0.75 <= backoff_delay(retries_done) <= base


def test_decision_uses_the_servers_delay() -> None:
    d = retry_decision(
        status=429, headers={"retry-after-ms": "250"}, retries_done=0, max_retries=2, now=NOW
    )
    assert (d.retry, d.delay) == (True, 0.25)


def test_decision_without_a_server_delay_backs_off() -> None:
    d = retry_decision(
        status=503, headers={}, retries_done=1, max_retries=2, now=NOW, rand=lambda: 0.0
    )
    assert (d.retry, d.delay) == (True, 1.0)


def test_decision_stops_after_max_retries() -> None:
    d = retry_decision(status=503, headers={}, retries_done=2, max_retries=2, now=NOW)
    assert d.retry is False
    assert d.retry_after is None


def test_decision_never_retries_a_400() -> None:
    d = retry_decision(status=400, headers={}, retries_done=0, max_retries=5, now=NOW)
    assert d.retry is False


def test_a_wait_beyond_the_cap_stops_at_once_and_carries_the_delay() -> None:
    asked = MAX_RETRY_AFTER + 1
    d = retry_decision(
        status=429, headers={"retry-after": str(asked)}, retries_done=0, max_retries=2, now=NOW
    )
    assert d.retry is False
    assert d.retry_after == asked


def test_connection_failures_are_retried_with_backoff() -> None:
    d = retry_decision(
        status=None, headers={}, retries_done=0, max_retries=2, now=NOW, rand=lambda: 0.0
    )
    assert (d.retry, d.delay) == (True, 0.5)
    assert (
        retry_decision(status=None, headers={}, retries_done=2, max_retries=2, now=NOW).retry
        is False
    )
