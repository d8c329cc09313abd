"""A deterministic corpus of telco onboarding interviews with speaker turns, for benchmarks.

Pure Python (no Django, no spaCy): the same seed and word budget always give the same texts,
so the app path and the raw baseline see exactly the same input.
"""

import random
from dataclasses import dataclass

FIRST = [
    "Anna", "Maria", "Tom", "Priya", "Jonas", "Fatima", "Liam", "Sofia", "Chen", "Olu",
    "Marta", "David", "Aisha", "Lukas", "Grace", "Mateo", "Hannah", "Ravi", "Elena", "Kofi",
]  # fmt: skip
LAST = [
    "Schmidt", "Okafor", "Patel", "Nguyen", "Garcia", "Kowalski", "Murphy", "Haddad",
    "Jensen", "Rossi", "Silva", "Brennan", "Tanaka", "Fischer", "Adeyemi", "Novak",
]  # fmt: skip
PLANS = ["the 20 gig plan", "Unlimited Plus", "the family bundle", "a SIM-only deal", "Basic 5G"]
PLACES = ["the store on King Street", "the call centre", "the app", "the website", "live chat"]
THINGS = ["the eSIM", "my number transfer", "the router", "the first bill", "the welcome text"]
FEELINGS = ["confusing", "quite easy", "a bit stressful", "really slow", "fine, honestly"]

CUSTOMER = [
    "I signed up for {plan} in {place} on the {day}th of {month}.",
    "Honestly, setting up {thing} was {feeling}.",
    "My partner {first} told me to ask for a discount, so I did.",
    "The agent, I think her name was {first} {last}, was very patient with me.",
    "It took about {n} minutes before anyone answered.",
    "I paid {price} pounds up front and then {price2} a month.",
    "They said the port would take {n} hours, but it took {days} days.",
    "Why would you need my passport just to activate {thing}?",
    "I called {n} times! Every time I got a different answer.",
    "The first bill was {price} pounds, which was more than I expected.",
    "I wasn't sure whether {thing} had worked, so I restarted the phone.",
    "My neighbour {first} has the same phone and had no problems at all.",
    "Mr. {last} from the shop wrote my details on a piece of paper...",
    "Then the app asked me to verify my e-mail again, which was odd.",
    "To be fair, once it worked it was {feeling}.",
    "I'd rate the onboarding about {score} out of 10.",
    "We moved house in {month}, so I needed the router at the new address.",
    "Dr. {last}, my GP, actually recommended the network to me.",
]  # fmt: skip
INTERVIEWER = [
    "Can you walk me through what happened when you first got {thing}?",
    "How did that make you feel?",
    "You mentioned {place}. Why did you go there rather than online?",
    "What would have made the first week easier for you?",
    "Did anyone help you with {thing}, a friend or family member perhaps?",
    "Okay. And how long did the whole thing take, roughly?",
    "Thanks, that's really helpful. Let's talk about the first bill.",
    "Was there a moment when you thought about cancelling?",
]  # fmt: skip
MONTHS = ["January", "March", "April", "June", "August", "October", "November"]


@dataclass(frozen=True)
class CorpusTurn:
    speaker: str
    start: int
    end: int


@dataclass(frozen=True)
class CorpusDocument:
    title: str
    text: str
    turns: list[CorpusTurn]

    @property
    def words(self) -> int:
        return len(self.text.split())


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        plan=rng.choice(PLANS),
        place=rng.choice(PLACES),
        thing=rng.choice(THINGS),
        feeling=rng.choice(FEELINGS),
        first=rng.choice(FIRST),
        last=rng.choice(LAST),
        month=rng.choice(MONTHS),
        day=rng.randint(4, 28),
        n=rng.randint(2, 45),
        days=rng.randint(2, 9),
        price=rng.randint(10, 120),
        price2=f"{rng.randint(8, 60)}.{rng.randint(0, 99):02d}",
        score=rng.randint(3, 9),
    )


def _document(rng: random.Random, number: int, words: int) -> CorpusDocument:
    customer = f"P{number:02d} {rng.choice(FIRST)} {rng.choice(LAST)}"
    parts: list[str] = []
    turns: list[CorpusTurn] = []
    length = 0
    count = 0
    interviewer_turn = True
    while count < words:
        speaker = "Interviewer" if interviewer_turn else customer
        templates = INTERVIEWER if interviewer_turn else CUSTOMER
        sentences = rng.randint(1, 2) if interviewer_turn else rng.randint(2, 7)
        body = " ".join(_fill(rng, rng.choice(templates)) for _ in range(sentences))
        prefix = f"{speaker}: "
        start = length + len(prefix)
        parts.append(prefix + body + "\n\n")
        turns.append(CorpusTurn(speaker=speaker, start=start, end=start + len(body)))
        length += len(parts[-1])
        count += len(prefix.split()) + len(body.split())
        interviewer_turn = not interviewer_turn
    return CorpusDocument(
        title=f"Onboarding interview {number:03d}", text="".join(parts), turns=turns
    )


def build_corpus(*, words: int, seed: int = 3, document_words: int = 2000) -> list[CorpusDocument]:
    """Interview documents of about `document_words` words each, `words` words in total."""
    rng = random.Random(seed)
    documents: list[CorpusDocument] = []
    total = 0
    while total < words:
        document = _document(rng, len(documents) + 1, min(document_words, words - total))
        documents.append(document)
        total += document.words
    return documents
