"""Routes of the public REST API (`/api/v1/`), as listed in the shared API.md."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from coding.agreement.api import AgreementView, ReconcileView
from coding.analysis_api import CoverageView, QuotesView, ThemeMetricView, ThemeSegmentView
from coding.api import CodeViewSet, ExcerptViewSet, MemoViewSet, WorkspaceView
from coding.codebook_api import codebook_routes
from coding.cooccurrence_api import CooccurrenceView
from coding.exports_api import ExcerptExportView, ThemeFeatureExportView
from coding.hypotheses_api import HypothesisActionViewSet, HypothesisViewSet
from coding.invivo_api import InVivoView
from coding.privacy.api import privacy_routes
from coding.refi_api import refi_routes
from coding.suggest_api import (
    GenerateViewSet,
    PredictViewSet,
    SimilarSuggestViewSet,
    SimilarViewSet,
    StatsViewSet,
    SuggesterViewSet,
    SuggestionViewSet,
)
from observations.api import DocumentViewSet, NoteViewSet, SearchView, SessionViewSet
from observations.pii_api import (
    PiiApplyViewSet,
    PiiCandidateViewSet,
    PiiKeyViewSet,
    PiiKnownNameViewSet,
)
from research.api.auth_token import obtain_auth_token
from research.api.base import scoped_routes
from research.api.segmentations import (
    ParticipantSegmentViewSet,
    SegmentationDetailViewSet,
    SegmentationViewSet,
)
from research.api.views import (
    JobDetailView,
    MemberViewSet,
    ParticipantViewSet,
    ProjectViewSet,
)

app_name = "api"

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="project")

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="auth-token"),
    path("jobs/<str:pk>/", JobDetailView.as_view(), name="job-detail"),
    *router.urls,
    *scoped_routes("members", MemberViewSet, "member"),
    *scoped_routes("participants", ParticipantViewSet, "participant"),
    *scoped_routes("sessions", SessionViewSet, "session"),
    *scoped_routes("sessions/<str:session_pk>/notes", NoteViewSet, "note"),
    *scoped_routes("documents", DocumentViewSet, "document"),
    *scoped_routes("codes", CodeViewSet, "code"),
    *scoped_routes("excerpts", ExcerptViewSet, "excerpt"),
    *scoped_routes("memos", MemoViewSet, "memo"),
    # --- codebook area ---
    *codebook_routes(),
    # --- imports area ---
    # --- documents, editing and search area ---
    path("projects/<slug:slug>/search/", SearchView.as_view({"get": "list"}), name="search"),
    # --- workspace area ---
    path(
        "projects/<slug:slug>/documents/<str:pk>/workspace/",
        WorkspaceView.as_view({"get": "retrieve"}),
        name="document-workspace",
    ),
    # --- workspace page area ---
    path(
        "projects/<slug:slug>/in-vivo/",
        InVivoView.as_view({"post": "create"}),
        name="in-vivo",
    ),
    # --- PII area ---
    *scoped_routes("pii/candidates", PiiCandidateViewSet, "pii-candidate"),
    *scoped_routes("pii/known-names", PiiKnownNameViewSet, "pii-known-name"),
    *scoped_routes("pii/keys", PiiKeyViewSet, "pii-key"),
    path(
        "projects/<slug:slug>/pii/apply/",
        PiiApplyViewSet.as_view({"post": "create"}),
        name="pii-apply",
    ),
    # --- segmentation area ---
    *scoped_routes("segmentations", SegmentationViewSet, "segmentation"),
    path(
        "projects/<slug:slug>/segmentations/<str:pk>/segments/",
        SegmentationDetailViewSet.as_view({"get": "segments"}),
        name="segmentation-segments",
    ),
    path(
        "projects/<slug:slug>/segmentations/<str:pk>/match/",
        SegmentationDetailViewSet.as_view({"get": "match"}),
        name="segmentation-match",
    ),
    path(
        "projects/<slug:slug>/segmentations/<str:pk>/compare/",
        SegmentationDetailViewSet.as_view({"get": "compare"}),
        name="segmentation-compare",
    ),
    path(
        "projects/<slug:slug>/participants/<str:pk>/segment/",
        ParticipantSegmentViewSet.as_view({"put": "update", "post": "update"}),
        name="participant-segment",
    ),
    # --- analysis area ---
    path(
        "projects/<slug:slug>/analysis/theme-segment/",
        ThemeSegmentView.as_view({"get": "list"}),
        name="analysis-theme-segment",
    ),
    path(
        "projects/<slug:slug>/analysis/theme-metric/",
        ThemeMetricView.as_view({"get": "list"}),
        name="analysis-theme-metric",
    ),
    path(
        "projects/<slug:slug>/analysis/coverage/",
        CoverageView.as_view({"get": "list"}),
        name="analysis-coverage",
    ),
    path(
        "projects/<slug:slug>/analysis/quotes/",
        QuotesView.as_view({"get": "list"}),
        name="analysis-quotes",
    ),
    path(
        "projects/<slug:slug>/analysis/cooccurrence/",
        CooccurrenceView.as_view({"get": "list"}),
        name="analysis-cooccurrence",
    ),
    path(
        "projects/<slug:slug>/analysis/agreement/",
        AgreementView.as_view({"get": "list"}),
        name="analysis-agreement",
    ),
    path(
        "projects/<slug:slug>/analysis/agreement/reconcile/",
        ReconcileView.as_view({"post": "create"}),
        name="analysis-agreement-reconcile",
    ),
    # --- hypotheses area ---
    *scoped_routes("hypotheses", HypothesisViewSet, "hypothesis"),
    path(
        "projects/<slug:slug>/hypotheses/<str:pk>/evaluations/",
        HypothesisActionViewSet.as_view({"get": "evaluations"}),
        name="hypothesis-evaluations",
    ),
    path(
        "projects/<slug:slug>/hypotheses/<str:pk>/evaluate/",
        HypothesisActionViewSet.as_view({"post": "evaluate"}),
        name="hypothesis-evaluate",
    ),
    # --- suggestions area ---
    # The fixed names come before `suggestions/<pk>/`, which would otherwise take them as ids.
    path(
        "projects/<slug:slug>/suggestions/stats/",
        StatsViewSet.as_view({"get": "list"}),
        name="suggestion-stats",
    ),
    path(
        "projects/<slug:slug>/suggestions/generate/",
        GenerateViewSet.as_view({"post": "create"}),
        name="suggestion-generate",
    ),
    *scoped_routes("suggestions", SuggestionViewSet, "suggestion"),
    path(
        "projects/<slug:slug>/suggesters/latest/predict/",
        PredictViewSet.as_view({"post": "create"}),
        name="suggester-predict",
    ),
    *scoped_routes("suggesters", SuggesterViewSet, "suggester"),
    path(
        "projects/<slug:slug>/excerpts/<str:pk>/similar/",
        SimilarViewSet.as_view({"get": "retrieve"}),
        name="excerpt-similar",
    ),
    path(
        "projects/<slug:slug>/excerpts/<str:pk>/similar/suggest/",
        SimilarSuggestViewSet.as_view({"post": "create"}),
        name="excerpt-similar-suggest",
    ),
    # --- REFI-QDA exchange area ---
    *refi_routes(),
    # --- privacy area ---
    *privacy_routes(),
    # --- exports area ---
    path(
        "projects/<slug:slug>/exports/excerpts/",
        ExcerptExportView.as_view({"get": "list"}),
        name="export-excerpts",
    ),
    path(
        "projects/<slug:slug>/exports/theme-features/",
        ThemeFeatureExportView.as_view({"get": "list"}),
        name="export-theme-features",
    ),
]
