"""API for in-vivo coding: create a code from the selected words and apply it, in one request.

Coders may do this (capability CODE) although they cannot otherwise edit the codebook: the code
is named by the participant's words and lands at the top level, where researchers tidy it.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from coding.api import CodeSerializer, ExcerptSerializer
from coding.models import Code
from coding.services.invivo import code_create_in_vivo
from research.api.base import ProjectRelatedField, ProjectScopedViewSet, request_user
from research.roles import Capability


@extend_schema_field(OpenApiTypes.INT)
class _DocumentField(ProjectRelatedField):
    """A document of the project, by id."""


class InVivoSerializer(serializers.Serializer[Any]):
    document = _DocumentField(lambda p: p.documents.all(), help_text="The document's id.")
    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=1)


class InVivoView(ProjectScopedViewSet):
    """POST `{document, start, end}`: a top-level code named by those words, and the excerpt."""

    queryset = Code.objects.none()  # for the schema only
    serializer_class = InVivoSerializer
    write_need = Capability.CODE

    @extend_schema(
        responses={
            201: inline_serializer(
                "InVivoCreated", {"code": CodeSerializer(), "excerpt": ExcerptSerializer()}
            )
        }
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        code, excerpt = code_create_in_vivo(
            coder=request_user(request), **serializer.validated_data
        )
        context = self.get_serializer_context()
        body = {
            "code": CodeSerializer(code, context=context).data,
            "excerpt": ExcerptSerializer(excerpt, context=context).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)
