"""gunicorn's own refusals become problem+json (end to end in test_serve.py)."""

from __future__ import annotations

import json

from macaron._server.edge import problem_response


def test_gunicorn_page_becomes_a_problem_with_its_status_and_no_echo() -> None:
    page = b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n<html>X-Secret: s3cr3t</html>"
    head, _, body = problem_response(page).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"Content-Type: application/problem+json" in head and b"s3cr3t" not in body
    problem = json.loads(body)
    assert (problem["status"], problem["code"]) == (431, "REQUEST_HEADER_FIELDS_TOO_LARGE")
    assert f"Content-Length: {len(body)}".encode() in head


def test_an_unreadable_status_line_is_a_400() -> None:
    body = problem_response(b"garbage").partition(b"\r\n\r\n")[2]
    assert json.loads(body)["status"] == 400
