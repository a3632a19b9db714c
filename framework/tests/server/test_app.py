"""The app: per-operation guards, current_service, apps isolated from each other."""

from __future__ import annotations

from macaron import Service, Unauthorized, client_address, create_app, current_service
from macaron.testing import Api, assert_problem, serve_app

from ..conftest import FIXTURES, SHOP_ENV


def test_guards_run_before_validation_and_handler() -> None:
    service = Service.load(FIXTURES / "shop", environ=SHOP_ENV)
    seen: list[str] = []

    def factory(svc, op):
        if op.operation_id != "createItem":
            return None

        def guard(request):
            seen.append(op.operation_id)
            if request.headers.get("X-Key") != "open":
                raise Unauthorized("no key", code="NO_KEY")

        return guard

    with serve_app(create_app(service, guard_factories=[factory])) as url:
        api = Api(url)
        assert_problem(api.post("/items", json={"invalid": True}), 401, "NO_KEY")
        assert api.post("/items", json={"name": "a", "price": 1}, headers={"X-Key": "open"}).status_code == 201
        assert api.get("/items").status_code == 200
    assert seen == ["createItem", "createItem"]


def test_current_service_inside_a_request() -> None:
    service = Service.load(FIXTURES / "shop", environ=SHOP_ENV)
    app = create_app(service)
    with app.test_request_context("/ping"):
        assert current_service() is service
    assert app.extensions["macaron"] is service


def test_client_address_is_the_peer_and_ignores_forwarded_headers() -> None:
    app = create_app(Service.load(FIXTURES / "shop", environ=SHOP_ENV))
    spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}
    with app.test_request_context("/ping", environ_base={"REMOTE_ADDR": "198.51.100.4"}, headers=spoofed):
        assert client_address() == "198.51.100.4"
    assert client_address() is None  # outside a request


def test_each_app_has_its_own_metrics() -> None:
    one = create_app(Service.load(FIXTURES / "shop", environ=SHOP_ENV))
    two = create_app(Service.load(FIXTURES / "shop", environ=SHOP_ENV))
    with serve_app(one) as url_one, serve_app(two) as url_two:
        Api(url_one).get("/items/1")
        assert "getItem" in Api(url_one).get("/metrics").text
        assert "getItem" not in Api(url_two).get("/metrics").text


def test_no_validator_compiled_per_request(api: Api, shop_service: Service) -> None:
    api.post("/items", json={"name": "a", "price": 1})
    before = shop_service.compiler.compilations
    for _ in range(5):
        api.post("/items", json={"name": "a", "price": 1, "owner": {"email": "x@y.io"}})
        api.get("/items", params={"limit": 3, "tags": "a,b"})
    assert shop_service.compiler.compilations == before


def test_empty_responses_carry_no_content_type(api: Api) -> None:
    """Regression (fuzzing, content_type_conformance): a response without a body (204, or 202 with
    nothing to say) went out as ``Content-Type: text/html``, a type no operation produces."""
    response = api.delete("/items/1")
    assert response.status_code == 204 and response.content == b""
    assert "Content-Type" not in response.headers
