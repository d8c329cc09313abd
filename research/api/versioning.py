"""Versioned writes over the API: `ETag` on reads, `If-Match` (or a `version` field) on writes,
409 with the current state on a mismatch.

A client sends the version it loaded; the service compares and swaps (research/concurrency.py).
A write without a version is still accepted, so existing scripts keep working: it is checked
against the version the request itself loaded, so even then nothing is silently overwritten
in between, but it may write over changes made since the client read the object.
"""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from research.concurrency import VersionConflict, parse_version

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        'The version you loaded, as the detail GET\'s `ETag` gives it (`"3"`). Optional; when '
        "given (here or as `version` in the body) a newer stored version answers 409."
    ),
)
CONFLICT_DESCRIPTION = (
    'The object changed since you loaded it: `{"detail", "errors": [], "current": {...}}` '
    "with `current` as the detail GET returns it. Reload, redo the edit and send again."
)


def versioned_write(**kwargs: Any) -> Any:
    """`extend_schema` for a PATCH or DELETE that takes `If-Match` and may answer 409.

    It declares only the header: `responses=` here would replace the view's success answer too.
    The 409 is documented for every operation taking `If-Match` (research.api.schema_errors).
    """
    return extend_schema(parameters=[IF_MATCH], **kwargs)


def etag(version: int) -> str:
    """The strong ETag of a version number."""
    return f'"{version}"'


def _from_header(raw: str) -> int | None:
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    return parse_version(value.strip('"'))


class VersionedWritesMixin:
    """For a `ProjectScopedViewSet` whose model has `version` and whose services take
    `expected_version`: call `self.expected_version()` in update/delete and pass it on."""

    def expected_version(self) -> int | None:
        """The version the client says it loaded (`If-Match` or body `version`), or None.

        400 naming the header or field when it is not a positive whole number, or when both
        are given and disagree.
        """
        request: Request = getattr(self, "request")  # noqa: B009  (set by the view)
        header = request.headers.get("If-Match")
        from_header = None
        if header is not None:
            from_header = _from_header(header)
            if from_header is None:
                raise exceptions.ValidationError(
                    {"If-Match": 'Give the version you loaded, as the ETag says: "3".'}
                )
        data = request.data
        raw = data.get("version") if hasattr(data, "get") else None
        from_body = None
        if raw is not None:
            from_body = parse_version(raw)
            if from_body is None:
                raise exceptions.ValidationError(
                    {"version": "Give the version you loaded (a whole number from 1)."}
                )
        if from_header is not None and from_body is not None and from_header != from_body:
            raise exceptions.ValidationError(
                {"version": f"Says {from_body} but If-Match says {from_header}; send one."}
            )
        return from_header if from_header is not None else from_body

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response: Response = super().retrieve(request, *args, **kwargs)  # type: ignore[misc]
        version = (response.data or {}).get("version")
        if version is not None:
            response["ETag"] = etag(version)
        return response

    def current_state(self, pk: Any) -> Any:
        """The object as the detail GET returns it, or None when it is gone."""
        view: Any = self
        action, view.action = view.action, "retrieve"
        try:
            obj = view.get_queryset().filter(pk=pk).first()
            return None if obj is None else view.get_serializer(obj).data
        finally:
            view.action = action

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, VersionConflict):
            current = self.current_state(exc.pk)
            if current is None:
                exc = exceptions.NotFound()
            else:
                name = exc.model._meta.verbose_name
                body = {
                    "detail": f"This {name} changed since you loaded it; nothing was saved.",
                    "errors": [],
                    "current": current,
                }
                response = Response(body, status=status.HTTP_409_CONFLICT)
                response["ETag"] = etag(current["version"])
                return response
        return super().handle_exception(exc)  # type: ignore[misc]
