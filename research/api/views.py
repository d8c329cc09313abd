"""API views for projects, members, participants and jobs."""

from typing import Any

from django.core.exceptions import ValidationError
from django_filters import rest_framework as filters
from rest_framework import generics, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from research import selectors, services
from research.api.base import ServiceViewSet, request_user
from research.api.serializers import (
    JobSerializer,
    MembershipSerializer,
    MembershipUpdateSerializer,
    ParticipantSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
)
from research.models import Job, Membership, Participant, Project
from research.permissions import access_job, access_project
from research.roles import Capability


class ProjectViewSet(viewsets.ModelViewSet):
    """Projects you are a member of. Creating one makes you its owner."""

    lookup_field = "slug"
    serializer_class = ProjectSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        return selectors.project_list(user=self.request.user)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return ProjectUpdateSerializer if self.action == "partial_update" else ProjectSerializer

    def get_object(self) -> Project:
        need = {
            "partial_update": Capability.MANAGE_PROJECT,
            "destroy": Capability.MANAGE_PROJECT,
        }.get(self.action or "", Capability.READ)
        access = access_project(self.request.user, self.kwargs["slug"], need=need)
        project = access.project
        project.my_role = access.role.value  # type: ignore[attr-defined]
        return project

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = services.project_create(
            creator=request_user(request),
            slug=data["slug"],
            name=data["name"],
            description=data.get("description", ""),
            language=data.get("language", "en"),
        )
        return Response(self.get_serializer(self.get_object_for(project)).data, status=201)

    def get_object_for(self, project: Project) -> Project:
        return selectors.project_list(user=self.request.user).get(pk=project.pk)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = self.get_object()
        serializer = self.get_serializer(project, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.project_update(project=project, **serializer.validated_data)
        return Response(self.get_serializer(self.get_object_for(project)).data)

    def perform_destroy(self, instance: Project) -> None:
        services.project_delete(project=instance)


class MemberViewSet(ServiceViewSet):
    """Who is in the project and in which role. Owners add, change and remove members."""

    write_need = Capability.MANAGE_MEMBERS

    def get_serializer_class(self) -> Any:
        if self.action == "partial_update":
            return MembershipUpdateSerializer
        return MembershipSerializer

    def scoped_queryset(self) -> Any:
        return selectors.membership_list(project=self.project)

    def create_object(self, data: dict[str, Any]) -> Membership:
        return services.membership_create(
            project=self.project, username=data["user"]["username"], role=data["role"]
        )

    def update_object(self, obj: Membership, data: dict[str, Any]) -> Membership:
        if "role" not in data:
            raise ValidationError({"role": "This field is required."})
        return services.membership_update(membership=obj, role=data["role"])

    def delete_object(self, obj: Membership) -> None:
        services.membership_delete(membership=obj)


class ParticipantFilter(filters.FilterSet):
    customer_ref = filters.CharFilter()
    pseudonym = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Participant
        fields = ("customer_ref", "pseudonym")


class ParticipantViewSet(ServiceViewSet):
    """People observed or interviewed, by pseudonym."""

    serializer_class = ParticipantSerializer
    filterset_class = ParticipantFilter
    write_need = Capability.CAPTURE

    def scoped_queryset(self) -> Any:
        return selectors.participant_list(project=self.project)

    def create_object(self, data: dict[str, Any]) -> Participant:
        return services.participant_create(project=self.project, **data)

    def update_object(self, obj: Participant, data: dict[str, Any]) -> Participant:
        return services.participant_update(participant=obj, **data)

    def delete_object(self, obj: Participant) -> None:
        services.participant_delete(participant=obj)


class JobDetailView(generics.RetrieveAPIView):
    """Status, progress (0 to 1), result and error of a background job."""

    serializer_class = JobSerializer
    queryset = Job.objects.none()

    def get_object(self) -> Job:
        return access_job(self.request.user, self.kwargs["pk"])
