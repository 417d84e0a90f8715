"""The API's route tables: one per controller, resolved by precedence whatever order the controllers come in."""

from __future__ import annotations

import re

import pytest

from lab.instance.api.controller import router_for
from lab.instance.http import HttpError, Router

PARAMETER_VALUES = ("x", "id", "groups", "search", "retry", "errors", "known", "a...b")


def _probes(api) -> list[str]:
    """Paths built from every route template with each parameter replaced by tricky values."""
    paths = set()
    for controller in api.controllers:
        for _methods, template, _handler in controller.routes:
            for value in PARAMETER_VALUES:
                paths.add(re.sub(r"\{[^}]+\}", value, template))
    return sorted(paths)


def _resolution(router: Router, path: str, method: str):
    try:
        handler, params = router.resolve(method, path)
    except HttpError as exc:
        return exc.status
    return handler.__qualname__, params


def test_literal_segments_win_whatever_the_order_routes_are_added():
    def by_id(request, failed_message_id):
        raise AssertionError

    def groups(request, classifier=None):
        raise AssertionError

    for routes in (
        [("/api/errors/{failed_message_id}", by_id), ("/api/errors/groups/{classifier?}", groups)],
        [("/api/errors/groups/{classifier?}", groups), ("/api/errors/{failed_message_id}", by_id)],
    ):
        router = Router()
        for template, handler in routes:
            router.add("GET", template, handler)
        assert router.resolve("GET", "/api/errors/groups") == (groups, {})
        assert router.resolve("GET", "/api/errors/42") == (by_id, {"failed_message_id": "42"})
        with pytest.raises(HttpError) as raised:
            router.resolve("POST", "/api/errors/42")
        assert raised.value.status == 405


def test_every_route_is_served_by_one_controller(apis):
    for api in apis:
        seen = {}
        for controller in api.controllers:
            for methods, template, handler in controller.routes:
                assert callable(getattr(type(controller), handler)), (controller, handler)
                for method in methods.split(","):
                    key = (method, template)
                    assert key not in seen, "%s %s is in %s and %s" % (method, template, seen[key], controller)
                    seen[key] = type(controller).__name__


def test_controller_order_does_not_change_routing(apis):
    for api in apis:
        reordered = router_for(reversed(api.controllers))
        for path in _probes(api):
            for method in ("GET", "HEAD", "POST", "PATCH", "DELETE"):
                assert _resolution(api.router, path, method) == _resolution(reordered, path, method), (method, path)
