"""What every project-scoped API view shares: the access check, project-bound querysets, routes.

A view declares which capability each action needs; `initial()` calls the access layer before
any handler runs, so a view cannot forget it. `get_object()` looks only inside the query that
starts from the accessed project, so ids from other projects are 404s.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.urls import URLPattern, path
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import APIException, MethodNotAllowed, NotAuthenticated
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from research.models import Project, User
from research.permissions import ProjectAccess, access_object, access_project
from research.roles import Capability


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."


def max_request_bytes() -> int:
    """The largest body a project route reads: the largest file any route takes (a segmentation
    snapshot, ten times VERBATIM_MAX_UPLOAD_BYTES) and 1 MB for the form around it."""
    return int(settings.VERBATIM_MAX_UPLOAD_BYTES) * 10 + 1024 * 1024


def check_declared_size(request: Request) -> None:
    """Raise RequestTooLarge (413) when the request declares a body over the limit, before a
    byte of it is read or spooled to disk."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    limit = max_request_bytes()
    if declared > limit:
        raise RequestTooLarge(
            f"The request declares {declared:,} bytes (Content-Length); the limit is {limit:,}."
        )


class ProjectScopedViewSet(viewsets.GenericViewSet):
    """Base for every resource under `/api/v1/projects/{slug}/`."""

    # Capability needed for safe methods (GET, HEAD, OPTIONS): READ unless the resource is
    # restricted further (the PII key table and candidates are owner-only).
    read_need: ClassVar[Capability] = Capability.READ
    # Capability needed for unsafe methods, per action.
    write_needs: ClassVar[Mapping[str, Capability]] = {}
    write_need: ClassVar[Capability] = Capability.MANAGE_PROJECT
    access: ProjectAccess
    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        check_declared_size(request)
        super().initial(request, *args, **kwargs)
        method = (request.method or "").lower()
        if method not in self.action_map and method not in ("head", "options"):
            # Answer 405 before the role check, so "cannot do this" only ever means the role.
            raise MethodNotAllowed(request.method or "")
        if request.method in SAFE_METHODS:
            need = self.read_need
        else:
            need = self.write_needs.get(self.action or "", self.write_need)
        self.access = access_project(request.user, kwargs["slug"], need=need)
        self.project = self.access.project

    def scoped_queryset(self) -> models.QuerySet[Any]:
        """The resource's rows, starting from `self.project`. Subclasses implement this."""
        raise NotImplementedError

    def get_queryset(self) -> models.QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no project
            serializer_class: Any = self.get_serializer_class()
            return serializer_class.Meta.model.objects.none()
        return self.scoped_queryset()

    def get_object(self) -> Any:
        obj = access_object(self.get_queryset(), self.kwargs["pk"])
        self.check_object_permissions(self.request, obj)
        return obj

    def refetch(self, obj: models.Model) -> Any:
        """`obj` again through the resource's queryset, so annotations are present."""
        return access_object(self.get_queryset(), obj.pk)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["project"] = getattr(self, "project", None)
        return context


class ServiceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ProjectScopedViewSet,
):
    """A project resource whose writes go through services: serializers only parse and render.

    Subclasses implement `create_object`, `update_object` and `delete_object` by calling one
    service each; DRF's mixins do the parsing, the status codes and the rendering.
    """

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create_object(self, data: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def update_object(self, obj: Any, data: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def delete_object(self, obj: Any) -> None:
        raise NotImplementedError

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = self.refetch(self.create_object(dict(serializer.validated_data)))

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        obj = self.update_object(serializer.instance, dict(serializer.validated_data))
        serializer.instance = self.refetch(obj)

    def perform_destroy(self, instance: Any) -> None:
        self.delete_object(instance)


class ProjectRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key that only resolves inside the request's project.

    `scope` maps the project to the queryset of allowed targets, so an id from another project
    fails validation exactly like a missing one.
    """

    def __init__(self, scope: Any, **kwargs: Any) -> None:
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self) -> models.QuerySet[Any]:
        project = self.context.get("project")
        if project is None:
            return models.QuerySet().none()
        return self.scope(project)


class MemberField(serializers.SlugRelatedField):
    """A user given by username who must be a member of the request's project."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="username", **kwargs)

    def get_queryset(self) -> models.QuerySet[Any]:
        from django.contrib.auth import get_user_model

        project = self.context.get("project")
        users = get_user_model().objects
        return users.filter(memberships__project=project) if project else users.none()


def request_user(request: Request) -> User:
    """The authenticated user of an API request (every API view requires authentication)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def _actions(viewset: Any, mapping: dict[str, str]) -> dict[str, str]:
    return {method: action for method, action in mapping.items() if hasattr(viewset, action)}


def scoped_routes(prefix: str, viewset: Any, name: str) -> list[URLPattern]:
    """List and detail routes for a project-scoped viewset, named `<name>-list`/`<name>-detail`.

    Only the actions the viewset implements are routed; others answer 405.
    """
    routes = []
    list_actions = _actions(viewset, {"get": "list", "post": "create"})
    if list_actions:
        routes.append(
            path(
                f"projects/<slug:slug>/{prefix}/",
                viewset.as_view(list_actions),
                name=f"{name}-list",
            )
        )
    detail_actions = _actions(
        viewset, {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
    )
    if detail_actions:
        routes.append(
            path(
                f"projects/<slug:slug>/{prefix}/<str:pk>/",
                viewset.as_view(detail_actions),
                name=f"{name}-detail",
            )
        )
    return routes
