"""Path templates such as ``/orders/{id}``, matched before routing (SEMANTICS section 1)."""

from __future__ import annotations

import pytest

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.routes import PathTemplates

MATCH_CASES = [
    ("/orders/{id}", "/orders/42", True),
    ("/orders/{id}", "/orders/a-b.c", True),
    ("/orders/{id}", "/orders/", False),
    ("/orders/{id}", "/orders", False),
    ("/orders/{id}", "/orders/42/items", False),
    ("/orders/{id}", "/orders/42/", False),
    ("/orders/{id}", "/v2/orders/42", False),
    ("/orders/{id:str}", "/orders/42", True),
    ("/orders/{id:str}", "/orders/4/2", False),
    ("/users/{uid}/orders/{oid}", "/users/1/orders/2", True),
    ("/users/{uid}/orders/{oid}", "/users/1/orders/", False),
    ("/files/{rest:path}", "/files/a", True),
    ("/files/{rest:path}", "/files/a/b/c.txt", True),
    ("/files/{rest:path}", "/files/", False),
    ("/files/{rest:path}", "/files", False),
    ("/files/{rest:path}/meta", "/files/a/b/meta", True),
    ("/orders", "/orders", True),
    ("/orders", "/orders/", False),
    ("/orders", "/ordersx", False),
    ("/orders", "/x/orders", False),
    ("/orders", "/Orders", False),
    ("/", "/", True),
    ("/", "/a", False),
    # Literal parts are literal, not regular expressions.
    ("/a.b", "/a.b", True),
    ("/a.b", "/axb", False),
    ("/a+", "/aa", False),
    ("/v1/(x)", "/v1/(x)", True),
    ("/_{name}", "/_x", True),
    ("/{_name1}", "/x", True),
]


@pytest.mark.parametrize(("template", "path", "matches"), MATCH_CASES)
def test_template_matches(template: str, path: str, matches: bool) -> None:
    assert PathTemplates([template]).matches(path) is matches


def test_several_templates() -> None:
    templates = PathTemplates(["/orders", "/orders/{id}/pay", "/files/{rest:path}"])
    assert bool(templates) is True
    assert templates.templates == ("/orders", "/orders/{id}/pay", "/files/{rest:path}")
    assert [
        templates.matches(path)
        for path in ("/orders", "/orders/1/pay", "/files/x/y", "/orders/1", "/pay")
    ] == [True, True, True, False, False]


def test_no_templates_match_nothing() -> None:
    templates = PathTemplates([])
    assert bool(templates) is False
    assert templates.matches("/") is False
    assert templates.matches("/orders") is False


def test_templates_from_any_iterable() -> None:
    assert PathTemplates(t for t in ["/a/{id}"]).matches("/a/1")


MALFORMED = [
    pytest.param("orders/{id}", "must start with '/'", id="no-slash"),
    pytest.param("", "must start with '/'", id="empty"),
    pytest.param("*", "must start with '/'", id="star"),
    pytest.param("/orders/{id", "malformed parameter", id="unclosed"),
    pytest.param("/orders/id}", "malformed parameter", id="unopened"),
    pytest.param("/orders/{}", "malformed parameter", id="no-name"),
    pytest.param("/orders/{1}", "malformed parameter", id="digit-name"),
    pytest.param("/orders/{id:int}", "malformed parameter", id="unknown-converter"),
    pytest.param("/orders/{my-id}", "malformed parameter", id="dash-name"),
    # A malformed parameter before a valid one must be caught too, not taken literally.
    pytest.param("/{id:int}/items/{item}", "malformed parameter", id="bad-then-good"),
    pytest.param("/orders/{1}/{id}", "malformed parameter", id="digit-then-good"),
    pytest.param("/a}/{id}", "malformed parameter", id="brace-then-good"),
    pytest.param("/{a{b}/{id}", "malformed parameter", id="nested-then-good"),
]


@pytest.mark.parametrize(("template", "message"), MALFORMED)
def test_malformed_template(template: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        PathTemplates(["/ok", template])
    assert repr(template) in str(info.value)
