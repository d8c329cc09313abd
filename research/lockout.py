"""What a client locked out by django-axes sees: the login page or a JSON error, both 429.

django-axes calls `lockout_response` (settings.AXES_LOCKOUT_CALLABLE) once a username has failed
AXES_FAILURE_LIMIT times from one address within AXES_COOLOFF_TIME.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_STATUS = 429


def lockout_message() -> str:
    """The sentence both the login page and the API give a locked-out client."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed log-in attempts for this username from your address. "
        f"Logging in is blocked for {minutes} minutes; try again later or ask the owner of "
        f"your study to reset your password."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """A 429: JSON in the API's error shape under /api/, else the login form with the message."""
    message = lockout_message()
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": message, "errors": [{"message": message}]}, status=LOCKED_STATUS
        )
    username = ""
    if isinstance(credentials, dict):
        username = str(credentials.get("username") or "")
    form = AuthenticationForm(request, initial={"username": username})
    return render(
        request,
        "registration/login.html",
        {"form": form, "lockout_message": message, "next": request.POST.get("next", "")},
        status=LOCKED_STATUS,
    )
