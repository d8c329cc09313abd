"""Pattern matching speed (issue 6): many rules over one long, already parsed document.

    DJANGO_DEBUG=1 .venv/bin/python bench/pattern_speed.py [--patterns 10000] [--words 50000]

The rules are generated from the banking77 messages (../shared/data/banking77 beside the
repository, or --data): keywords are the corpus's words, phrases its frequent two- and
three-word sequences, token patterns spaCy Matcher rules built from them (lemma + word, an
optional word between, a set of lemmas); each goes to the intent where it is most frequent,
as a researcher would file it, at most 500 per code. The document is other banking77 messages,
five to a paragraph, up to `--words` words, parsed once with the ingest's components.

`--purity` (default 0.8) is the share of an n-gram's occurrences that must fall in one intent
for it to become a rule; lower values admit common words and make hits denser.

Reported: compile time (best of --compile-repeat), `CompiledPatterns.find(doc)` (median and
worst of --repeat runs after a warm-up) and the cost of a cache hit in `compiled_for` (the
version query plus the lookup) against a throwaway SQLite database.
"""

import argparse
import csv
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
STOP = {
    "a", "an", "the", "i", "my", "me", "is", "it", "to", "of", "and", "or", "in", "on", "for",
    "do", "be", "am", "are", "was", "can", "you", "your", "this", "that", "with", "at", "have",
}  # fmt: skip
MAX_PER_CODE = 500


def _setup_django() -> Path:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    folder = Path(tempfile.mkdtemp(prefix="verbatim-bench-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return folder


def _read(data: Path, split: str) -> list[tuple[str, str]]:
    with (data / f"{split}.csv").open(newline="", encoding="utf-8") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def build_rules(
    rows: list[tuple[str, str]], count: int, purity: float = 0.8
) -> dict[str, list[dict[str, Any]]]:
    """`count` distinct rules filed under the intent where each is most frequent."""
    grams: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for text, category in rows:
        words = WORD.findall(text.lower())
        for n in (1, 2, 3):
            for i in range(len(words) - n + 1):
                gram = tuple(words[i : i + n])
                if n == 1 and gram[0] in STOP:
                    continue
                if n > 1 and (gram[0] in STOP and gram[-1] in STOP):
                    continue
                grams[gram][category] += 1
    # A rule a researcher files under a code points at it: keep n-grams of which at least
    # `purity` of the occurrences are in one intent, most frequent first.
    distinctive = [
        g for g in grams if grams[g].most_common(1)[0][1] >= purity * sum(grams[g].values())
    ]
    ranked = sorted(distinctive, key=lambda g: (-sum(grams[g].values()), g))
    singles = [g for g in ranked if len(g) == 1]
    pairs = [g for g in ranked if len(g) == 2]
    triples = [g for g in ranked if len(g) == 3]
    # The mix: every word as a keyword, 60% of the rest phrases, 40% token patterns.
    keywords = singles[: count // 3]
    rest = count - len(keywords)
    n_tokens = rest * 2 // 5
    n_phrases = rest - n_tokens
    phrases = (pairs[: n_phrases // 2] + triples)[:n_phrases]
    token_sources = pairs[n_phrases // 2 :] + triples[n_phrases:] + pairs[: n_phrases // 2]
    rules: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    rules += [(g, {"type": "keyword", "text": g[0]}) for g in keywords]
    rules += [(g, {"type": "phrase", "text": " ".join(g)}) for g in phrases]
    for i, g in enumerate(token_sources[:n_tokens]):
        shape = i % 3
        pattern: list[dict[str, Any]]
        if shape == 0:  # lemma of the first word, then the second as written
            pattern = [{"LEMMA": g[0]}, {"LOWER": g[-1]}]
        elif shape == 1:  # an optional word in between
            pattern = [{"LOWER": g[0]}, {"IS_ALPHA": True, "OP": "?"}, {"LEMMA": g[-1]}]
        else:  # a set of words followed by one
            pattern = [{"LOWER": {"IN": [*g[:-1], "my"]}}, {"LOWER": g[-1]}]
        rules.append((g, {"type": "tokens", "pattern": pattern}))
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    categories = sorted({category for _, category in rows})
    spill = 0
    for gram, rule in rules:
        home = grams[gram].most_common(1)[0][0]
        while len(by_code[home]) >= MAX_PER_CODE:  # a full code passes the rule on
            home = categories[spill % len(categories)]
            spill += 1
        by_code[home].append(rule)
    return dict(by_code)


def build_document(rows: list[tuple[str, str]], words: int) -> str:
    texts: list[str] = []
    total = 0
    for text, _ in rows:
        texts.append(text.strip())
        total += len(text.split())
        if total >= words:
            break
    return "\n\n".join(" ".join(texts[i : i + 5]) for i in range(0, len(texts), 5))


def _cache_hit_cost(rules: dict[str, list[dict[str, Any]]], repeat: int) -> tuple[float, float]:
    """Seconds of the first `compiled_for` (a miss: read + compile) and median of hits."""
    from coding.models import Code
    from coding.suggest import patterns
    from research.models import User
    from research.services import project_create

    user = User.objects.create_user(username="bench")
    project = project_create(creator=user, slug="bench", name="Pattern bench")
    Code.objects.bulk_create(
        Code(project=project, name=name, patterns=rules[name], position=i)
        for i, name in enumerate(sorted(rules))
    )
    start = time.perf_counter()
    first = patterns.compiled_for(project)
    miss = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        again = patterns.compiled_for(project)
        times.append(time.perf_counter() - start)
        assert again is first
    return miss, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--words", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--purity", type=float, default=0.8)
    parser.add_argument("--compile-repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "banking77")
    args = parser.parse_args()

    folder = _setup_django()
    try:
        from coding.suggest.patterns import compile_patterns, validate
        from observations.nlp import get_pipeline, ingest_docs, pipeline_label

        rules = build_rules(_read(args.data, "train"), args.patterns, args.purity)
        kinds = Counter(rule["type"] for code in rules.values() for rule in code)
        assert not any(validate(code) for code in rules.values())
        messages = _read(args.data, "test") + _read(args.data, "train")[::-1]
        text = build_document(messages, args.words)
        nlp = get_pipeline("en")
        start = time.perf_counter()
        doc = next(iter(ingest_docs(nlp, [text])))
        parse = time.perf_counter() - start
        print(f"pipeline: {pipeline_label(nlp)}")
        print(
            f"rules: {sum(kinds.values()):,} in {len(rules)} codes "
            f"({kinds['keyword']:,} keywords, {kinds['phrase']:,} phrases, "
            f"{kinds['tokens']:,} token patterns)"
        )
        print(
            f"document: {len(text.split()):,} words, {len(doc):,} tokens, "
            f"{sum(1 for _ in doc.sents):,} sentences; "
            f"parsed once in {parse:.2f} s (not timed below)"
        )
        codes = [(i, rules[name]) for i, name in enumerate(sorted(rules))]
        compile_times = []
        for _ in range(args.compile_repeat):
            start = time.perf_counter()
            compiled = compile_patterns(codes, nlp)
            compile_times.append(time.perf_counter() - start)
        print(f"compile: {min(compile_times):.2f} s (best of {args.compile_repeat})")
        hits = compiled.find(doc)  # warm-up
        find_times, cpu_times = [], []
        for _ in range(args.repeat):
            start, cpu = time.perf_counter(), time.process_time()
            hits = compiled.find(doc)
            find_times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu)
        median = statistics.median(find_times) * 1000
        print(
            f"find: median {median:.1f} ms wall ({statistics.median(cpu_times) * 1000:.1f} ms "
            f"CPU), best {min(find_times) * 1000:.1f} ms, worst {max(find_times) * 1000:.1f} ms "
            f"over {args.repeat} runs; {len(hits):,} hits in "
            f"{len({h.sentence_start for h in hits}):,} sentences"
        )
        miss, hit = _cache_hit_cost(rules, max(args.repeat, 50))
        print(
            f"compiled_for: first call {miss:.2f} s (query + compile), cache hit {hit * 1e3:.2f} ms"
        )
        print(f"target find <= 50 ms: {'met' if median <= 50 else 'NOT met'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
