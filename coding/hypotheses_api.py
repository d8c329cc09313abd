"""API for hypotheses (issue 5 point 6): record, read (always fresh), history, re-evaluate.

Routes: ``projects/{slug}/hypotheses/`` GET, POST; ``{id}/`` GET, PATCH, DELETE;
``{id}/evaluations/`` GET (history, newest first); ``{id}/evaluate/`` POST. Researchers and
owners write (EDIT_CODEBOOK: hypotheses are part of the analysis, like the codebook); every
member reads. Reading re-evaluates hypotheses whose data changed, so answers are never stale.
"""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from coding import hypotheses, hypothesis_evaluation
from coding.models import Hypothesis, HypothesisEvaluation
from research.api.base import (
    ProjectRelatedField,
    ProjectScopedViewSet,
    ServiceViewSet,
    request_user,
)
from research.roles import Capability


class EvaluationSerializer(serializers.ModelSerializer[HypothesisEvaluation]):
    outcome_label = serializers.CharField(source="get_outcome_display", read_only=True)

    class Meta:
        model = HypothesisEvaluation
        fields: tuple[str, ...] = (
            "id",
            "outcome",
            "outcome_label",
            "reason",
            "test",
            "p_value",
            "statistic",
            "effect",
            "numbers",
            "quote_ids",
            "fingerprint",
            "evaluated_at",
        )
        read_only_fields = fields


class HypothesisSerializer(serializers.ModelSerializer[Hypothesis]):
    code = ProjectRelatedField(
        lambda p: p.codes.all(), help_text="The theme: a code of this project."
    )
    segmentation = ProjectRelatedField(
        lambda p: p.segmentations.all(), help_text="The snapshot the segment or metric is from."
    )
    code_name = serializers.CharField(source="code.name", read_only=True, default=None)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, default=None, allow_null=True
    )
    latest = EvaluationSerializer(read_only=True)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Hypothesis
        fields: tuple[str, ...] = (
            "id",
            "statement",
            "code",
            "code_name",
            "kind",
            "segmentation",
            "segment",
            "metric",
            "category",
            "direction",
            "created_by",
            "created_at",
            "updated_at",
            "checked_at",
            "latest",
            "summary",
        )
        read_only_fields: tuple[str, ...] = (
            "id",
            "code_name",
            "created_by",
            "created_at",
            "updated_at",
            "checked_at",
            "latest",
            "summary",
        )
        extra_kwargs: dict[str, Any] = {
            "segment": {"help_text": "Segment name (kind segment)."},
            "metric": {"help_text": "Metric name in the snapshot (kind metric)."},
            "category": {"help_text": "For a categorical metric: the category expected."},
            "direction": {
                "help_text": "more/less (segment, categorical metric) or higher/lower (numeric or "
                "date metric)."
            },
        }

    def get_summary(self, obj: Hypothesis) -> str:
        """The latest numbers in plain words."""
        return hypotheses.summary(obj, obj.latest)


class HypothesisDetailSerializer(HypothesisSerializer):
    quotes = serializers.SerializerMethodField()

    class Meta(HypothesisSerializer.Meta):
        fields = (*HypothesisSerializer.Meta.fields, "quotes")
        read_only_fields = (*HypothesisSerializer.Meta.read_only_fields, "quotes")

    def get_quotes(self, obj: Hypothesis) -> list[dict[str, Any]]:
        """The supporting quotes: excerpt, text, speaker, document and its title."""
        ids = obj.latest.quote_ids if obj.latest else []
        return hypotheses.quotes_of(obj.project, ids)


class HypothesisViewSet(ServiceViewSet):
    """A project's hypotheses, each with its latest evaluation."""

    serializer_class = HypothesisSerializer
    write_need = Capability.EDIT_CODEBOOK

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return HypothesisSerializer
        return HypothesisDetailSerializer

    def scoped_queryset(self) -> Any:
        return hypotheses.with_related(Hypothesis.objects.filter(project=self.project))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None
        hypotheses.refresh(self.project, page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        hypotheses.refresh(self.project, [obj])
        return Response(self.get_serializer(obj).data)

    def create_object(self, data: dict[str, Any]) -> Hypothesis:
        return hypotheses.hypothesis_create(
            project=self.project, user=request_user(self.request), **data
        )

    def update_object(self, obj: Hypothesis, data: dict[str, Any]) -> Hypothesis:
        return hypotheses.hypothesis_update(hypothesis=obj, **data)

    def delete_object(self, obj: Hypothesis) -> None:
        hypotheses.hypothesis_delete(hypothesis=obj)


class HypothesisActionViewSet(ProjectScopedViewSet):
    """One hypothesis's history, and evaluating it now."""

    serializer_class = EvaluationSerializer
    write_need = Capability.EDIT_CODEBOOK

    def scoped_queryset(self) -> Any:
        return hypotheses.with_related(Hypothesis.objects.filter(project=self.project))

    @extend_schema(responses={200: EvaluationSerializer(many=True)})
    def evaluations(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every evaluation whose outcome or numbers differed from the one before, newest first."""
        obj = self.get_object()
        hypotheses.refresh(self.project, [obj])
        page = self.paginate_queryset(obj.evaluations.order_by("-evaluated_at", "-id"))
        return self.get_paginated_response(EvaluationSerializer(page, many=True).data)

    @extend_schema(request=None, responses={200: HypothesisDetailSerializer})
    def evaluate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Evaluate now, whatever the fingerprint says; answers the hypothesis."""
        obj = self.get_object()
        obj.project = self.project
        hypothesis_evaluation.evaluate(obj)
        context = self.get_serializer_context()
        return Response(HypothesisDetailSerializer(obj, context=context).data)
