"""Enumerates every named route in the URL resolver, for the access-matrix tests.

A route appears here the moment it is added to a urls module, so a new route without a declared
rule in the matrix makes the tests fail instead of going untested.
"""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    kwargs: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


def _walk(patterns: list, namespace: str = "") -> list[Route]:
    routes: list[Route] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            full = f"{namespace}:{ns}".strip(":") if ns else namespace
            routes += _walk(pattern.url_patterns, full)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            kwargs = tuple(sorted(pattern.pattern.regex.groupindex))
            routes.append(Route(name=name, kwargs=kwargs))
    return routes


def all_routes() -> list[Route]:
    """Every named route, deduplicated, except Django admin's (it has its own staff check)."""
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver().url_patterns):
        if route.name.startswith("admin:"):
            continue
        seen.setdefault(route.name, route)
    return sorted(seen.values(), key=lambda r: r.name)


def project_routes() -> list[Route]:
    """Routes inside a project: every one of these must go through `access_project`."""
    return [route for route in all_routes() if "slug" in route.kwargs]
