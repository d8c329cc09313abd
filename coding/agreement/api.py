"""Agreement API: `analysis/agreement/` (GET, READ) and `analysis/agreement/reconcile/` (POST,
EDIT_OTHERS_WORK). Views parse, check access and call `selectors` / `services`.

GET parameters: ``coders`` (usernames, comma-separated, at least two, each must have coded in
the project), ``unit`` (character | sentence), ``level`` (code | theme), ``document`` (ids,
comma-separated: compare exactly these; default every document all chosen coders have coded),
``source`` (document kinds), ``segmentation`` (a snapshot id: adds strata by segment) and
``segment`` (a segment name of it: only that segment's documents). A bad value is a 400 naming
the parameter; an object of another project is a 404.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from coding.agreement import selectors
from coding.agreement.services import StaleReconcile, agreement_reconcile
from coding.analysis import SOURCES
from coding.models import AgreementDecision, Excerpt
from research.api.base import ProjectScopedViewSet, request_user
from research.models import Project, Segmentation, User
from research.permissions import NOT_FOUND, access_object
from research.roles import Capability


def _bad(parameter: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError({parameter: [message]})


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_coders(project: Project, raw: str, parameter: str = "coders") -> list[User]:
    """Users by username, in the order given: at least two, each one who coded in the project or
    is a member of it (a coder whose excerpts were all reconciled away still counts: their
    silence is part of the comparison)."""
    names = list(dict.fromkeys(_list(raw)))
    if len(names) < 2:
        raise _bad(parameter, "Name at least two coders (usernames, comma-separated).")
    found = {u.username: u for u in selectors.comparable_coders(project, names)}
    unknown = [n for n in names if n not in found]
    if unknown:
        raise _bad(parameter, f"No coder {', '.join(map(repr, unknown))} has coded here.")
    return [found[n] for n in names]


def parse_query(project: Project, params: Any) -> selectors.AgreementQuery:
    """The agreement query of GET parameters; 400 naming a bad one, 404 for another project's."""
    coders = parse_coders(project, params.get("coders", ""))
    unit = params.get("unit", "").strip() or "character"
    if unit not in selectors.UNITS:
        raise _bad("unit", f"Use one of {', '.join(selectors.UNITS)}; got {unit!r}.")
    level = params.get("level", "").strip() or "code"
    if level not in selectors.LEVELS:
        raise _bad("level", f"Use one of {', '.join(selectors.LEVELS)}; got {level!r}.")
    sources = set(_list(params.get("source", "")))
    unknown = sorted(sources - set(SOURCES))
    if unknown:
        raise _bad("source", f"Unknown source {', '.join(unknown)}; use {', '.join(SOURCES)}.")
    documents: frozenset[int] | None = None
    raw_documents = _list(params.get("document", ""))
    if raw_documents:
        if not all(d.isdigit() for d in raw_documents):
            raise _bad("document", "Give document ids, comma-separated.")
        documents = frozenset(int(d) for d in raw_documents)
        if project.documents.filter(id__in=documents).count() != len(documents):
            raise Http404(NOT_FOUND)
    segmentation: Segmentation | None = None
    raw_segmentation = params.get("segmentation", "").strip()
    if raw_segmentation:
        segmentation = access_object(project.segmentations.all(), raw_segmentation)
    segment = params.get("segment", "").strip() or None
    if segment is not None:
        if segmentation is None:
            raise _bad("segment", "Give the segmentation the segment belongs to.")
        if (
            segment != selectors.NO_SEGMENT
            and not segmentation.segments.filter(name=segment).exists()
        ):
            raise _bad("segment", f"No segment {segment!r} in {segmentation}.")
    return selectors.AgreementQuery(
        coders=coders,
        unit=unit,  # type: ignore[arg-type]
        level=level,
        documents=documents,
        sources=frozenset(sources),
        segmentation=segmentation,
        segment=segment,
    )


def parse_keep(
    project: Project, data: dict[str, Any], coders: list[User] | None
) -> tuple[Excerpt | None, User | None]:
    """What a ``keep`` keeps: exactly one of ``excerpt`` (an id; another project's is a 404) and
    ``coder`` (a username of ``coders``, or of anyone who coded here when none are given); a
    400 naming the field otherwise. Other actions take neither."""
    excerpt, coder = data.get("excerpt"), (data.get("coder") or "").strip()
    if data["action"] != AgreementDecision.Action.KEEP:
        if coder:
            raise _bad("coder", "Only keep takes a coder.")
        return None, None
    if excerpt is not None and coder:
        raise _bad("coder", "Give either excerpt or coder to keep, not both.")
    if excerpt is not None:
        return access_object(project.excerpts.all(), excerpt), None
    if not coder:
        raise _bad("excerpt", "Name the excerpt to keep, or the coder whose version wins.")
    if coders is not None:
        found = next((u for u in coders if u.username == coder), None)
    else:
        found = selectors.coders_list(project).filter(username=coder).first()
    if found is None:
        raise _bad("coder", f"{coder!r} is not one of the compared coders.")
    return None, found


class AgreementView(ProjectScopedViewSet):
    """Inter-coder agreement per code and overall, its strata and the disputed passages."""

    queryset = Excerpt.objects.none()  # for the schema only
    pagination_class = None
    filter_backends: list[Any] = []
    renderer_classes = (JSONRenderer,)

    @extend_schema(
        parameters=[
            OpenApiParameter("coders", str, required=True, description="Usernames, a,b[,c]."),
            OpenApiParameter("unit", str, enum=list(selectors.UNITS), required=False),
            OpenApiParameter("level", str, enum=list(selectors.LEVELS), required=False),
            OpenApiParameter("document", str, required=False, description="Document ids."),
            OpenApiParameter("source", str, required=False, description="Document kinds."),
            OpenApiParameter("segmentation", int, required=False),
            OpenApiParameter("segment", str, required=False, description="Segment name."),
        ],
        responses={
            200: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description='`{"unit", "level", "coders", "documents", "codes": [{"code", '
                '"code_name", "percent", "cohen_kappa", "krippendorff_alpha", "notes", ...}], '
                '"overall", "strata", "disagreement_count", "disagreements": [...]}`',
            )
        },
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = parse_query(self.project, request.query_params)
        return Response(selectors.agreement_report(project=self.project, query=query))


class ReconcileSerializer(serializers.Serializer[Any]):
    code = serializers.IntegerField(help_text="The code's id.")
    document = serializers.IntegerField(help_text="The document's id.")
    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=1)
    action = serializers.ChoiceField(choices=AgreementDecision.Action.choices)
    excerpt = serializers.IntegerField(
        required=False, help_text="keep: the excerpt whose coder's version wins (or give coder)."
    )
    coder = serializers.CharField(
        required=False,
        help_text="keep: the username of the compared coder whose version wins (or give "
        "excerpt); a coder with no excerpt there wins by removing the code from the passage.",
    )
    version = serializers.CharField(
        required=False, help_text="The passage's version as listed; a changed passage is a 409."
    )
    coders = serializers.CharField(
        required=False, help_text="Usernames compared, comma-separated (default: every coder)."
    )


class ReconcileView(ProjectScopedViewSet):
    """POST: keep one coder's excerpts, keep both or merge them; 409 with the current state
    when the passage changed since it was listed."""

    queryset = AgreementDecision.objects.none()  # for the schema only
    serializer_class = ReconcileSerializer
    write_need = Capability.EDIT_OTHERS_WORK

    @extend_schema(
        request=ReconcileSerializer,
        responses={
            201: OpenApiResponse(OpenApiTypes.OBJECT, description="The recorded decision."),
            409: OpenApiResponse(OpenApiTypes.OBJECT, description="The passage now."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = self.project
        code = access_object(project.codes.all(), data["code"])
        document = access_object(project.documents.all(), data["document"])
        coders = parse_coders(project, data["coders"]) if data.get("coders") else None
        keep, keep_coder = parse_keep(project, data, coders)
        if data["end"] > 0 and data["start"] >= data["end"]:
            raise _bad("end", "Need start < end.")
        try:
            decision = agreement_reconcile(
                user=request_user(request),
                document=document,
                code=code,
                start=data["start"],
                end=data["end"],
                action=data["action"],
                version=data.get("version"),
                keep=keep,
                keep_coder=keep_coder,
                coders=coders,
            )
        except StaleReconcile as stale:
            body = {"detail": str(stale), "current": stale.current}
            return Response(body, status=status.HTTP_409_CONFLICT)
        return Response(decision_payload(decision), status=status.HTTP_201_CREATED)


def decision_payload(decision: AgreementDecision) -> dict[str, Any]:
    """A decision as JSON."""
    return {
        "id": decision.pk,
        "document": decision.document_id,
        "code": decision.code_id,
        "start": decision.start,
        "end": decision.end,
        "action": decision.action,
        "version": decision.version,
        "decided_by": decision.decided_by.username if decision.decided_by else None,
        "decided_at": decision.decided_at.isoformat(),
        "before": decision.before,
        "after": decision.after,
    }
