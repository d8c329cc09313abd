"""A tiny study for the suggestion tests: three codes, coded and uncoded documents.

Documents are built with their sentence rows directly (no NLP run), so training tests stay fast.
"""

from dataclasses import dataclass

from coding.models import Code, Excerpt
from observations.models import Document, Sentence
from research.models import Project, User
from tests.factories import CodeFactory, DocumentFactory

BILLING = [
    "I was charged twice for the same order.",
    "The invoice showed a fee I never agreed to.",
    "They took the payment again after I cancelled.",
    "My bill doubled without any warning.",
    "I asked for a refund of the extra charge.",
    "The card was billed for a plan I did not buy.",
]
DELIVERY = [
    "The parcel arrived a week late.",
    "The courier left the box in the rain.",
    "Nobody told me the delivery was delayed.",
    "My package was lost somewhere in the depot.",
    "The driver never rang the bell.",
    "Tracking said delivered but nothing came.",
]
PRAISE = [
    "The staff on the phone were lovely.",
    "Great service from the shop assistant.",
    "She was friendly and solved it quickly.",
    "I really liked how helpful the agent was.",
    "Thanks to the team for being so kind.",
    "The support person was patient and warm.",
]
SMALL_TALK = [
    "Okay, let us start the interview.",
    "Can you hear me all right?",
    "Let me share my screen for a second.",
    "We have about twenty minutes left.",
]
UNCODED = [
    "They charged my card twice this month.",
    "The parcel never arrived at my door.",
    "The agent was very friendly to me.",
    "Is the recording on now?",
]


def make_document(project: Project, sentences: list[str], title: str = "") -> Document:
    """A ready document whose sentence rows are exactly `sentences` (joined by a space)."""
    text = " ".join(sentences)
    document = DocumentFactory.create(
        project=project, text=text, char_count=len(text), title=title or sentences[0][:30]
    )
    position = 0
    for index, sentence in enumerate(sentences):
        Sentence.objects.create(
            document=document, index=index, start=position, end=position + len(sentence)
        )
        position += len(sentence) + 1
    return document


def span_of(document: Document, sentence: str) -> tuple[int, int]:
    start = document.text.index(sentence)
    return start, start + len(sentence)


def code_sentence(document: Document, sentence: str, code: Code, coder: User) -> Excerpt:
    start, end = span_of(document, sentence)
    return Excerpt.objects.create(
        project=document.project,
        document=document,
        code=code,
        start=start,
        end=end,
        text=document.text[start:end],
        coder=coder,
    )


@dataclass
class Study:
    billing: Code
    delivery: Code
    praise: Code
    coded: list[Document]
    uncoded: Document


def make_study(project: Project, coder: User) -> Study:
    """Two coded documents (every topical sentence coded, small talk left uncoded) and one
    document nobody coded: 18 positives over three codes, ~30 passages in all."""
    billing = CodeFactory.create(project=project, name="Billing")
    delivery = CodeFactory.create(project=project, name="Delivery")
    praise = CodeFactory.create(project=project, name="Praise")
    coded = []
    for half in (slice(0, 3), slice(3, 6)):
        sentences = [
            *SMALL_TALK[half.start // 3 * 2 : half.start // 3 * 2 + 2],
            *BILLING[half],
            *DELIVERY[half],
            *PRAISE[half],
        ]
        document = make_document(project, sentences)
        for code, group in ((billing, BILLING), (delivery, DELIVERY), (praise, PRAISE)):
            for sentence in group[half]:
                code_sentence(document, sentence, code, coder)
        coded.append(document)
    uncoded = make_document(project, UNCODED, title="Not coded yet")
    return Study(billing, delivery, praise, coded, uncoded)
