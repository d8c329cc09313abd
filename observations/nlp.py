"""spaCy pipelines: loaded lazily, once per process, from installed packages only.

Nothing here downloads anything: a language without an installed pipeline is a configuration
error with a clear message, not a network call.
"""

from functools import lru_cache

import spacy
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from spacy.language import Language


def pipeline_name(language: str) -> str:
    """The installed spaCy package that serves `language` (settings.VERBATIM_SPACY_MODELS)."""
    try:
        return settings.VERBATIM_SPACY_MODELS[language]
    except KeyError:
        supported = ", ".join(sorted(settings.VERBATIM_SPACY_MODELS))
        raise ImproperlyConfigured(
            f"No spaCy pipeline is configured for language {language!r}; configured: {supported}."
        ) from None


@lru_cache(maxsize=4)
def get_pipeline(language: str) -> Language:
    """The project's pipeline for `language`, loaded on first use and cached per process."""
    return spacy.load(pipeline_name(language))
