"""One error shape for every 4xx: `{"detail": "...", "errors": [{"field": ..., "message": ...}]}`,
and for the 503 of an unreachable task queue.

Django `ValidationError`s raised by services become 400s here, so services stay free of DRF.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from research.tasking import QueueUnavailable

NON_FIELD = "non_field_errors"


def _flatten(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested error detail into a flat list keyed by a dotted field path."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            name = str(key) if key not in (NON_FIELD, "__all__") else ""
            out += _flatten(value, f"{path}.{name}".strip(".") if name else path)
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [_error(path, str(item)) for item in detail]
        out = []
        for index, item in enumerate(detail):
            out += _flatten(item, f"{path}[{index}]" if path else f"[{index}]")
        return out
    return [_error(path, str(detail))]


def _error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message} if field else {"message": message}


def _django_validation_detail(exc: DjangoValidationError) -> Any:
    if hasattr(exc, "error_dict"):
        return {
            field: [m for e in errors for m in e.messages]
            for field, errors in exc.error_dict.items()
        }
    return exc.messages


class _Unavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "queue_unavailable"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler producing the shared error shape."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_detail(exc))
    elif isinstance(exc, ProtectedError | RestrictedError):
        exc = exceptions.ValidationError({NON_FIELD: [str(exc.args[0])]})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, QueueUnavailable):
        # The request's writes are saved and its job marked failed; the client may try again.
        exc = _Unavailable(str(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        response.data = {"detail": "Invalid input.", "errors": errors}
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"]), "errors": []}
    _answer_in_json(context.get("request"))
    return response


def _answer_in_json(request: Any) -> None:
    """An error is JSON even when `?format=csv|xlsx|qdpx` chose a download renderer: otherwise
    its JSON body would go out labelled as a spreadsheet or an archive."""
    renderer = getattr(request, "accepted_renderer", None)
    # No renderer yet: negotiation itself failed (an unknown ?format=), and DRF would otherwise
    # pick the view's first renderer, a download one for the export views.
    if renderer is None or renderer.format not in ("json", "api"):
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The site's 404 handler (config.urls.handler404): a URL under /api/ that matches no route
    (a slug with characters a slug cannot hold, say) gets the API's JSON error, not the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "errors": []}, status=404)
    return page_not_found(request, exception)
