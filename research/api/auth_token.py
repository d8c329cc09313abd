"""POST auth/token/: DRF's token exchange, under the same failed-login lockout as the login page."""

from typing import Any

from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response


class ThrottledObtainAuthToken(ObtainAuthToken):
    """Give a token for a right username and password, unless django-axes locked the pair out.

    DRF passes its own Request to `authenticate`, so django-axes flags the lockout there; copying
    the flag to the Django request lets axes' middleware answer 429 as it does for the login page.
    """

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        finally:
            if getattr(request, "axes_locked_out", False):
                request._request.axes_locked_out = True  # type: ignore[attr-defined]
                request._request.axes_credentials = getattr(  # type: ignore[attr-defined]
                    request, "axes_credentials", None
                )


obtain_auth_token = ThrottledObtainAuthToken.as_view()
