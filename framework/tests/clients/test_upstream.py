"""Upstream errors: the problem they render, and reraise() for the callee's 4xx."""

from __future__ import annotations

import pytest
from macaron import ApiError
from macaron.clients._upstream import UpstreamError, UpstreamInvalid, UpstreamTimeout


def test_problem_names_the_callee_and_its_request_id() -> None:
    err = UpstreamError("mail", "sendMail", upstream_status=503, body={"code": "X"}, upstream_request_id="r-9")
    problem = err.to_problem("mine")
    assert (problem["status"], problem["code"], problem["request_id"]) == (502, "UPSTREAM_ERROR", "mine")
    assert problem["upstream"] == {"name": "mail", "operation": "sendMail", "status": 503, "request_id": "r-9"}
    assert "mail answered 503 to sendMail" in problem["detail"] and "r-9" in problem["detail"]
    assert UpstreamTimeout("mail", "sendMail").to_problem(None)["code"] == "UPSTREAM_TIMEOUT"


def test_reraise_keeps_a_macaron_callee_4xx_with_its_field_errors() -> None:
    body = {"status": 400, "code": "VALIDATION_ERROR", "title": "Request Validation Failed", "detail": "1 field",
            "errors": [{"path": "/body/to", "message": "is required"}]}
    with pytest.raises(ApiError) as caught:
        UpstreamError("mail", "sendMail", upstream_status=400, body=body).reraise()
    err = caught.value
    assert (err.status, err.code, err.detail, err.title) == (400, "VALIDATION_ERROR", "1 field",
                                                             "Request Validation Failed")
    assert [(e.path, e.message) for e in err.errors] == [("/body/to", "is required")]
    assert not isinstance(err, UpstreamError)


@pytest.mark.parametrize(("body", "code", "detail"), [
    ({"error": "invalid_grant", "error_description": "Wrong email or password."}, "INVALID_GRANT",
     "Wrong email or password."),
    ({"errors": [{"message": "bad", "field": "from"}]}, "UPSTREAM_REJECTED", "auth0 refused the request (403)"),
    ("Unauthorized", "UPSTREAM_REJECTED", "Unauthorized"),
])
def test_reraise_maps_foreign_error_bodies(body: object, code: str, detail: str) -> None:
    with pytest.raises(ApiError) as caught:
        UpstreamError("auth0", "getToken", upstream_status=403, body=body).reraise()
    assert (caught.value.status, caught.value.code, caught.value.detail) == (403, code, detail)


@pytest.mark.parametrize("err", [UpstreamError("m", "op", upstream_status=503),
                                 UpstreamInvalid("m", "op", upstream_status=400),
                                 UpstreamTimeout("m", "op")])
def test_reraise_leaves_everything_else_a_gateway_error(err: UpstreamError) -> None:
    with pytest.raises(UpstreamError) as caught:
        err.reraise()
    assert caught.value is err and caught.value.status in (502, 504)


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (401, True), (404, True), (409, True), (408, False), (429, False), (500, False), (503, False),
     (None, False)],
)
def test_permanent_is_a_refusal_the_callee_would_repeat(status: int | None, permanent: bool) -> None:
    assert UpstreamError("mail", "sendMail", upstream_status=status).permanent is permanent
