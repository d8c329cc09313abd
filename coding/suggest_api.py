"""API for assisted coding (issue 6): suggestions, their review, suggesters, predict, similar.

Routes under ``projects/{slug}/`` (config/api_urls.py, "suggestions area"):

- ``suggestions/`` GET (filters ``document``, ``code``, ``status``, ``method``; uncertain first),
  ``suggestions/{id}/`` GET, PATCH ``{"status": "accepted"|"rejected"}`` (CODE).
- ``suggestions/stats/`` GET: acceptance per code and method, per pattern rule, per method.
- ``suggestions/generate/`` POST ``{"document": id?}`` → 202 + job (CODE).
- ``suggesters/`` GET, POST → 202 + job (train; CODE: coders start it from the review queue);
  ``suggesters/{id}/`` GET (``latest`` names the newest ready one).
- ``suggesters/latest/predict/`` POST ``{"texts": [...]}`` (READ: it orders the code picker);
  each item ``{code, score, above_threshold}``.
- ``excerpts/{id}/similar/`` GET ``?k=`` (READ): passages not yet coded with the excerpt's code,
  each with the codes it has.
- ``excerpts/{id}/similar/suggest/`` POST ``{"k": n}`` or ``{"passages": [{"document", "start",
  "end"}, ...]}`` (CODE): those passages become pending "similar" suggestions of its code.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from coding.models import Suggester, Suggestion
from coding.suggest import selectors, services
from research.api.base import ProjectRelatedField, ProjectScopedViewSet, request_user
from research.api.schema_errors import ObjectSchema
from research.api.serializers import job_payload
from research.models import Job
from research.permissions import access_object
from research.roles import Capability

MAX_PREDICT_TEXTS = 200
MAX_PREDICT_CHARS = 20_000


class SuggestionSerializer(serializers.ModelSerializer[Suggestion]):
    document_title = serializers.CharField(read_only=True)
    code_name = serializers.CharField(read_only=True)
    decided_by = serializers.CharField(
        source="decided_by_name", read_only=True, default=None, allow_null=True
    )
    context_before = serializers.SerializerMethodField()
    context_after = serializers.SerializerMethodField()
    threshold = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Model suggestions: the code's decision threshold the score was held to "
        "(tuned per code at training, or the global setting); null for other methods.",
    )

    class Meta:
        model = Suggestion
        fields: tuple[str, ...] = (
            "id",
            "document",
            "document_title",
            "code",
            "code_name",
            "start",
            "end",
            "text",
            "score",
            "threshold",
            "method",
            "model_version",
            "pattern",
            "status",
            "excerpt",
            "decided_by",
            "decided_at",
            "created_at",
            "context_before",
            "context_after",
        )
        read_only_fields = fields

    def _trimmed(self, obj: Suggestion) -> tuple[str, str]:
        before = getattr(obj, "context_before", "") or ""
        after = getattr(obj, "context_after", "") or ""
        return selectors.trim_context(before, after)

    def get_context_before(self, obj: Suggestion) -> str:
        return self._trimmed(obj)[0]

    def get_context_after(self, obj: Suggestion) -> str:
        return self._trimmed(obj)[1]


class DecisionSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=[s.value for s in services.DECISIONS])


class SuggestionFilter(filters.FilterSet):
    document = filters.NumberFilter()
    code = filters.NumberFilter()
    status = filters.ChoiceFilter(choices=Suggestion.Status.choices)
    method = filters.ChoiceFilter(choices=Suggestion.Method.choices)

    class Meta:
        model = Suggestion
        fields: tuple[str, ...] = ("document", "code", "status", "method")


class SuggestionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ProjectScopedViewSet
):
    """The review queue. Everyone reads it; coders decide (accepting codes the passage)."""

    serializer_class = SuggestionSerializer
    filterset_class = SuggestionFilter
    write_need = Capability.CODE
    http_method_names = ["get", "patch", "head", "options"]

    def scoped_queryset(self) -> Any:
        return selectors.suggestion_list(project=self.project)

    @extend_schema(request=DecisionSerializer, responses=SuggestionSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        suggestion = self.get_object()
        form = DecisionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.suggestion_decide(
            suggestion=suggestion, user=request_user(request), status=form.validated_data["status"]
        )
        return Response(SuggestionSerializer(self.refetch(suggestion)).data)


class StatsViewSet(ProjectScopedViewSet):
    """How often coders accepted what the assistant suggested."""

    serializer_class = serializers.Serializer
    queryset = Suggestion.objects.none()  # for the schema only
    schema = ObjectSchema()

    @extend_schema(
        responses=inline_serializer(
            "SuggestionStats",
            {
                "codes": serializers.ListField(child=serializers.DictField()),
                "patterns": serializers.ListField(child=serializers.DictField()),
                "overall": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(selectors.suggestion_stats(project=self.project))


@extend_schema_field(OpenApiTypes.INT)
class _DocumentField(ProjectRelatedField):
    """A document id of the request's project (typed for the schema)."""


class GenerateSerializer(serializers.Serializer[Any]):
    document = _DocumentField(
        lambda p: p.documents.all(),
        required=False,
        allow_null=True,
        help_text="Only this document; every ready document if omitted.",
    )


def _queued(job: Job, request: Request) -> Response:
    # With no broker the task ran at commit: show its outcome.
    job = Job.objects.get(pk=job.pk)
    return Response({"job": job_payload(job, request)}, status=status.HTTP_202_ACCEPTED)


_QUEUED = inline_serializer("SuggestJobQueued", {"job": serializers.DictField()})


class GenerateViewSet(ProjectScopedViewSet):
    """Run the pattern rules and the latest model over one document or all ready ones."""

    serializer_class = GenerateSerializer
    write_need = Capability.CODE

    @extend_schema(request=GenerateSerializer, responses={202: _QUEUED})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = GenerateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        with transaction.atomic():
            job = services.suggestions_queue_generation(
                project=self.project,
                user=request_user(request),
                document=form.validated_data.get("document"),
            )
        return _queued(job, request)


class SuggesterSerializer(serializers.ModelSerializer[Suggester]):
    job = serializers.UUIDField(source="job_id", read_only=True, allow_null=True)
    code_metrics = serializers.SerializerMethodField(
        help_text="The per-code metrics as a list with code names, best F1 first; each "
        "carries its decision `threshold` (`threshold_tuned` false: the global setting)."
    )

    class Meta:
        model = Suggester
        fields: tuple[str, ...] = (
            "id",
            "version",
            "status",
            "job",
            "trained_on",
            "metrics",
            "code_metrics",
            "meta",
            "error",
            "created_at",
            "finished_at",
        )
        read_only_fields = fields

    def get_code_metrics(self, obj: Suggester) -> list[dict[str, Any]]:
        names: dict[int, str] = self.context.get("code_names", {})
        rows = [
            {"code": int(key), "code_name": names.get(int(key))} | values
            for key, values in (obj.metrics or {}).items()
            if key.isdigit()
        ]
        rows.sort(key=lambda row: (row.get("f1") is None, -(row.get("f1") or 0.0), row["code"]))
        return rows


class SuggesterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Trained suggester versions with their cross-validated metrics; POST trains the next."""

    serializer_class = SuggesterSerializer
    write_need = Capability.CODE

    def scoped_queryset(self) -> Any:
        return selectors.suggester_list(project=self.project)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        project = getattr(self, "project", None)
        if project is not None:
            context["code_names"] = dict(project.codes.values_list("id", "name"))
        return context

    def get_object(self) -> Any:
        if self.kwargs["pk"] == "latest":
            latest = services.latest_suggester(self.project)
            if latest is None:
                raise NotFound(services.NO_SUGGESTER)
            return access_object(self.get_queryset(), latest.pk)
        return super().get_object()

    @extend_schema(request=None, responses={202: _QUEUED})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = services.suggester_queue_training(project=self.project, user=request_user(request))
        return _queued(job, request)


class PredictSerializer(serializers.Serializer[Any]):
    texts = serializers.ListField(
        child=serializers.CharField(
            max_length=MAX_PREDICT_CHARS, allow_blank=True, trim_whitespace=False
        ),
        max_length=MAX_PREDICT_TEXTS,
    )


class PredictionItemSerializer(serializers.Serializer[Any]):
    code = serializers.IntegerField()
    score = serializers.FloatField(help_text="The model's score in [0, 1], rounded to 4 places.")
    above_threshold = serializers.BooleanField(
        help_text="True when the score reaches the code's decision threshold (tuned per code "
        "at training, else the global setting): generation would suggest this code."
    )


class PredictViewSet(ProjectScopedViewSet):
    """Every code ranked by the latest model, per text: what orders the code picker."""

    serializer_class = PredictSerializer
    write_need = Capability.READ  # a POST only because texts can be long; it changes nothing

    @extend_schema(
        request=PredictSerializer,
        responses=inline_serializer(
            "SuggesterPrediction",
            {
                "results": serializers.ListField(
                    child=serializers.ListField(child=PredictionItemSerializer()),
                    help_text="Per text, every current code the model learned, best first.",
                )
            },
        ),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = PredictSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            ranked = services.predict(self.project, list(form.validated_data["texts"]))
        except Suggester.DoesNotExist:
            raise NotFound(services.NO_SUGGESTER) from None
        return Response(
            {
                "results": [
                    [
                        {"code": code, "score": round(score, 4), "above_threshold": above}
                        for code, score, above in scores
                    ]
                    for scores in ranked
                ]
            }
        )


class SimilarViewSet(ProjectScopedViewSet):
    """Passages elsewhere in the project that read like an excerpt."""

    serializer_class = serializers.Serializer
    queryset = Suggestion.objects.none()  # for the schema only

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "k", int, description=f"How many (1 to {selectors.SIMILAR_MAX}; default 10)."
            )
        ],
        responses=inline_serializer(
            "SimilarPassages", {"results": serializers.ListField(child=serializers.DictField())}
        ),
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        excerpt = access_object(
            self.project.excerpts.select_related("project"), self.kwargs.get("pk")
        )
        raw = request.query_params.get("k", "10")
        try:
            k = int(raw)
        except ValueError:
            k = 0
        if not 1 <= k <= selectors.SIMILAR_MAX:
            raise DjangoValidationError(
                {"k": f"Give a whole number from 1 to {selectors.SIMILAR_MAX}."}
            )
        return Response({"results": selectors.similar_passages(excerpt=excerpt, k=k)})


class SpanSerializer(serializers.Serializer[Any]):
    document = serializers.IntegerField(min_value=1)
    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=1)


class SimilarSuggestSerializer(serializers.Serializer[Any]):
    k = serializers.IntegerField(
        min_value=1,
        max_value=selectors.SIMILAR_MAX,
        required=False,
        help_text="Suggest the k passages GET similar/?k= lists.",
    )
    passages = serializers.ListField(
        child=SpanSerializer(),
        max_length=selectors.SIMILAR_MAX,
        required=False,
        help_text="Or suggest these passages (as similar/ lists them).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("k" in attrs) == bool(attrs.get("passages")):
            raise serializers.ValidationError({"k": "Send either k or a list of passages."})
        return attrs


class SimilarSuggestViewSet(ProjectScopedViewSet):
    """Turn an excerpt's similar passages into pending suggestions of its code, for review."""

    serializer_class = SimilarSuggestSerializer
    write_need = Capability.CODE

    @extend_schema(
        request=SimilarSuggestSerializer,
        responses=inline_serializer(
            "SimilarSuggested",
            {
                "created": serializers.IntegerField(),
                "already_suggested": serializers.IntegerField(),
                "already_coded": serializers.IntegerField(),
            },
        ),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from coding.suggest.similar_suggest import similar_suggestions_create

        excerpt = access_object(
            self.project.excerpts.select_related("project"), self.kwargs.get("pk")
        )
        form = SimilarSuggestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        spans = [
            (p["document"], p["start"], p["end"]) for p in form.validated_data.get("passages", [])
        ]
        outcome = similar_suggestions_create(
            excerpt=excerpt, k=form.validated_data.get("k"), spans=spans
        )
        return Response(
            {
                "created": outcome.created,
                "already_suggested": outcome.already_suggested,
                "already_coded": outcome.already_coded,
            }
        )


__all__ = [
    "GenerateViewSet",
    "PredictViewSet",
    "SimilarSuggestViewSet",
    "SimilarViewSet",
    "StatsViewSet",
    "SuggesterViewSet",
    "SuggestionViewSet",
]
