"""Suggester quality benchmark (issue 6): the Learner on banking77, beside its parts and a baseline.

    DJANGO_DEBUG=1 .venv/bin/python bench/suggester_quality.py [--seeds 0,1] [--sizes 5,20]

Banking77 (`../shared/data/banking77` next to the project): 77 intents play the codes, each
message is a passage. For each size n and seed, n training messages per intent are drawn; the
models are scored on the full test split (3,080 messages) by top-1 and top-3 accuracy:

- baseline: TF-IDF word 1-2 grams + scikit-learn's default LogisticRegression (the issue's ~0.77);
- sklearn alone: the Learner's linear part (word + char TF-IDF, one-vs-rest LR, lemma copies);
- spaCy alone: the Learner's textcat_multilabel (TextCatBOW) part;
- multinomial: the same features and lemma copies, one softmax logistic regression over the
  intents instead of one regression per code (possible only for single-label data: shown to
  check that one-vs-rest, which real multi-label passages need, costs no ranking accuracy);
- combined at several spaCy weights, the shipped weight (learner.SPACY_WEIGHT) marked with *.
  The weight is judged on a validation set (2,000 unused training messages), not on the test set.

Then the training time of one Learner on 4,000 labelled passages, in CPU (process) time and
wall time, with every numeric library limited to one thread. Figures: docs/benchmarks.md.
"""

import os

# One core: set before numpy/scipy/thinc load their BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "banking77"
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)


def load_banking77(data: Path = DATA) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Train and test frames (columns text, category) and the intent names, or SystemExit
    naming the missing file."""
    for name in ("train.csv", "test.csv", "categories.json"):
        if not (data / name).is_file():
            raise SystemExit(f"banking77 data missing: {data / name} not found")
    categories = json.loads((data / "categories.json").read_text())
    return pd.read_csv(data / "train.csv"), pd.read_csv(data / "test.csv"), categories


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    logging.getLogger("spacy").setLevel(logging.WARNING)


def sample(train: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """n messages per intent (all of an intent's messages if it has fewer)."""
    picked = [
        group.sample(n=min(n, len(group)), random_state=seed).index.to_numpy()
        for _, group in train.groupby("category")
    ]
    return train.loc[np.concatenate(picked)]


def topk(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    top = np.argsort(-scores, axis=1, kind="stable")[:, :3]
    return float((top[:, 0] == truth).mean()), float((top == truth[:, None]).any(axis=1).mean())


def baseline(texts: list[str], y: np.ndarray) -> Callable[[list[str]], np.ndarray]:
    """The issue's baseline, fitted: TF-IDF word 1-2 grams + default LogisticRegression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    model = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(texts), y)
    return lambda test: model.predict_proba(vectorizer.transform(test))


def run(n: int, seed: int, train: pd.DataFrame, test: pd.DataFrame, index: dict[str, int]) -> dict:
    """Top-1/top-3 of every variant for one (size, seed), on test and validation."""
    from sklearn.linear_model import LogisticRegression

    from coding.suggest.learner import LOGISTIC_C, TrainingSet, lemmatise
    from coding.suggest.learner import train as train_learner

    chosen = sample(train, n, seed)
    rest = train.drop(chosen.index).sample(n=2000, random_state=seed)
    y = chosen.category.map(index).to_numpy()
    data = TrainingSet(chosen.text.tolist(), [frozenset([int(c)]) for c in y])
    started = time.process_time()
    learner = train_learner(data, codes=list(range(len(index))), seed=seed, spacy_weight=0.5)
    seconds = time.process_time() - started
    result: dict = {"train_cpu_s": seconds, "passages": len(chosen)}
    baseline_scores = baseline(data.texts, y)
    lemmas = lemmatise(data.texts, "en")
    assert lemmas is not None
    multinomial = LogisticRegression(C=LOGISTIC_C, max_iter=3000).fit(
        learner.features(data.texts + lemmas), np.concatenate([y, y])
    )
    for split, frame in (("test", test), ("val", rest)):
        texts, truth = frame.text.tolist(), frame.category.map(index).to_numpy()
        linear, spacy_ = learner.linear_scores(texts), learner.spacy_scores(texts)
        result[split] = {
            "baseline": topk(baseline_scores(texts), truth),
            "spacy": topk(spacy_, truth),
            "multinomial": topk(multinomial.predict_proba(learner.features(texts)), truth),
            **{f"w={w}": topk((1 - w) * linear + w * spacy_, truth) for w in WEIGHTS},
        }
    return result


def time_4000(train: pd.DataFrame, index: dict[str, int]) -> tuple[float, float, dict]:
    """CPU and wall seconds to train one Learner (shipped settings) on 4,000 passages."""
    from coding.suggest.learner import TrainingSet
    from coding.suggest.learner import train as train_learner

    chosen = train.sample(n=4000, random_state=0)
    data = TrainingSet(
        chosen.text.tolist(), [frozenset([index[c]]) for c in chosen.category.tolist()]
    )
    cpu, wall = time.process_time(), time.perf_counter()
    learner = train_learner(data, codes=list(range(len(index))))
    return time.process_time() - cpu, time.perf_counter() - wall, learner.meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3")
    parser.add_argument("--sizes", default="5,10,20,50")
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args()
    train, test, categories = load_banking77()
    _setup_django()
    from coding.suggest.learner import SPACY_WEIGHT

    index = {c: i for i, c in enumerate(categories)}
    seeds = [int(s) for s in args.seeds.split(",")]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    names = ["baseline", "spacy", "multinomial", *(f"w={w}" for w in WEIGHTS)]
    label = {
        "baseline": "TF-IDF w1-2 + LR (baseline)",
        "spacy": "spaCy textcat_multilabel BOW alone",
        "multinomial": "sklearn, multinomial LR (single-label only)",
        "w=0.0": "sklearn alone (Learner's one-vs-rest LR)",
    }
    print(f"banking77, {len(test)} test messages; top-1 / top-3, mean of seeds {seeds}")
    for n in sizes:
        runs = [run(n, seed, train, test, index) for seed in seeds]
        print(
            f"\n## {n} per code ({runs[0]['passages']} passages); Learner training "
            f"{np.mean([r['train_cpu_s'] for r in runs]):.1f} s CPU (spaCy part at weight > 0)"
        )
        print(f"{'model':44s} {'test top-1':>10s} {'test top-3':>10s} {'val top-1':>10s}")
        for name in names:
            mark = " *" if name == f"w={SPACY_WEIGHT}" else ""
            shown = label.get(name, f"combined, spaCy weight {name[2:]}") + mark
            t1 = np.mean([r["test"][name][0] for r in runs])
            t3 = np.mean([r["test"][name][1] for r in runs])
            v1 = np.mean([r["val"][name][0] for r in runs])
            print(f"{shown:44s} {t1:10.4f} {t3:10.4f} {v1:10.4f}", flush=True)
    if not args.no_timing:
        cpu, wall, meta = time_4000(train, index)
        print(f"\nTraining on 4,000 passages (one thread): {cpu:.1f} s CPU, {wall:.1f} s wall")
        print(f"  {meta['architecture']}; spaCy epochs {meta['spacy_epochs']}")
        print(f"  CPU seconds by part: {meta['cpu_seconds_by_part']}")


if __name__ == "__main__":
    main()
