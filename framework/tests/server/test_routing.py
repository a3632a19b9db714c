"""Routing: spec paths become Flask rules with spec names behind each variable."""

from macaron._server.routing import endpoint_name, flask_rule


def test_flask_rule_maps_variables() -> None:
    rule = flask_rule("", "/users/{user-id}/items/{item_id}")
    assert rule.rule == "/users/<p0>/items/<p1>"
    assert rule.variables == {"p0": "user-id", "p1": "item_id"}


def test_base_path_prefix() -> None:
    assert flask_rule("/v1/", "/ping").rule == "/v1/ping"
    assert flask_rule("", "/").rule == "/"


def test_endpoint_names_do_not_clash_with_builtins() -> None:
    assert endpoint_name("ping") == "op.ping"
