"""Page-side answers to failures that are not the user's: the API has its own exception handler
(research.api.errors); pages get a readable page instead of a server error."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from research.tasking import QueueUnavailable


class QueueUnavailableMiddleware:
    """A page whose work could not be queued (the broker is down) answers 503 with a page that
    says so, instead of a 500. What the page saved before queueing stays saved (the task is
    published on commit), so the page says the work can be started again later."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, QueueUnavailable) or request.path.startswith("/api/"):
            return None
        context = {"message": str(exception), "back": request.META.get("HTTP_REFERER", "")}
        return render(request, "frontend/queue_unavailable.html", context, status=503)
