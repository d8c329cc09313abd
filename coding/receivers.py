"""coding's answers to the signals of the apps below it (connected in CodingConfig.ready)."""

from typing import Any

from observations.signals import document_processed
from research.signals import analysis_data_changed


def _hypotheses_stale(sender: Any, *, project_id: int, **kwargs: Any) -> None:
    from coding.hypotheses import data_changed

    data_changed(project_id)


def _suggest_for_processed(sender: Any, *, document: Any, **kwargs: Any) -> None:
    # Imported when a document is processed, not at start-up: keeps spaCy and scikit-learn out
    # of the web process's URL loading.
    from coding.suggest.services import suggestions_after_processing

    suggestions_after_processing(document=document)


def connect() -> None:
    """Connect the receivers once (dispatch_uid makes a second call a no-op)."""
    analysis_data_changed.connect(_hypotheses_stale, dispatch_uid="coding.hypotheses_stale")
    document_processed.connect(_suggest_for_processed, dispatch_uid="coding.suggest_processed")
