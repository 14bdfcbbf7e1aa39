"""The error tree, built by a pure function from (status, headers, body)."""

from __future__ import annotations

import json

import pytest

from assistants_async import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AssistantsError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from assistants_async._errors import error_from_response


def envelope_body(message: str = "No assistant found with id 'asst_x'.") -> bytes:
    return json.dumps(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": "assistant_id",
                "code": "not_found",
            }
        }
    ).encode()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_each_status_maps_to_its_class_with_the_envelope_fields(
    status: int, cls: type[APIStatusError]
) -> None:
    err = error_from_response(status, {"x-request-id": "req_123"}, envelope_body())
    assert type(err) is cls
    assert isinstance(err, APIStatusError)
    assert err.status_code == status
    assert err.request_id == "req_123"
    assert err.message == "No assistant found with id 'asst_x'."
    assert (err.type, err.param, err.code) == ("invalid_request_error", "assistant_id", "not_found")
    assert err.body == json.loads(envelope_body())


def test_the_tree() -> None:
    assert issubclass(APIStatusError, APIError)
    assert issubclass(APIError, AssistantsError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, APIError)
    assert issubclass(ResponseValidationError, APIError)


def test_str_is_one_useful_line() -> None:
    err = error_from_response(404, {"X-Request-Id": "req_9"}, envelope_body())
    text = str(err)
    assert "\n" not in text
    assert text == (
        "404: No assistant found with id 'asst_x'. "
        "[type=invalid_request_error, param=assistant_id, code=not_found] (request_id=req_9)"
    )


HTML_502 = b"""<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title><style>body { color: red }</style></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
"""


def test_an_html_error_page_gives_a_clean_error() -> None:
    err = error_from_response(502, {"content-type": "text/html"}, HTML_502)
    assert type(err) is InternalServerError
    assert err.message == "502 Bad Gateway"
    assert str(err) == "502: 502 Bad Gateway"
    assert err.type is None
    assert err.body == HTML_502.decode()


def test_html_without_a_title_is_stripped_to_text() -> None:
    body = b"<html><body><script>x()</script><p>Upstream   &amp; proxy\nfailed</p></body></html>"
    err = error_from_response(503, {}, body)
    assert err.message == "Upstream & proxy failed"


def test_a_huge_body_is_cut_to_a_readable_length() -> None:
    err = error_from_response(500, {}, b"x" * 100_000)
    assert len(err.message) <= 300
    assert err.message.endswith("…")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "Internal Server Error"),
        (b"{not json", "{not json"),
        (b'{"error": "plain string"}', "plain string"),
        (b'{"message": "top-level"}', "top-level"),
        (b"[1, 2]", "[1, 2]"),
        (b"\xff\xfe broken utf-8", "\ufffd\ufffd broken utf-8"),
    ],
)
def test_odd_bodies_still_give_a_message(body: bytes, message: str) -> None:
    err = error_from_response(500, {}, body)
    assert type(err) is InternalServerError
    assert err.message == message


def test_retry_after_appears_on_the_error_when_given() -> None:
    err = error_from_response(429, {}, envelope_body("Slow down"), retry_after=120.0)
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 120.0
    assert "retry after 120 s" in str(err)


def test_connection_errors_name_the_request() -> None:
    err = APITimeoutError(method="GET", url="http://127.0.0.1:1/v1/assistants")
    assert str(err) == "Request timed out. (GET http://127.0.0.1:1/v1/assistants)"


def test_validation_error_names_the_path() -> None:
    err = ResponseValidationError("expected an integer", path="data[3].created_at")
    assert str(err) == "expected an integer (at data[3].created_at)"


def test_the_sdk_name_of_the_validation_error_is_the_same_class() -> None:
    from assistants_async import APIResponseValidationError

    assert APIResponseValidationError is ResponseValidationError
