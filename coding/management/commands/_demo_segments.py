"""The demo segmentation snapshot: the data-science team's onboarding segments for the demo
participants plus 200 other customers, as the CSV they would hand over. Pure data, no Django.

The 200 other customers are seeded random. The participants' rows are set by hand (their
first-year spend follows `_demo_survey`'s design), so the dashboard's picture does not hang on
a random draw."""

import random

from coding.management.commands import _demo_data as data
from coding.management.commands import _demo_survey as survey

NAME = "Onboarding segments"
FILE_NAME = "onboarding_segments_2026-02.csv"
SEGMENTS = ("Digital natives", "Store loyalists", "Price hunters")
# The interviewees' segments follow their stories: P01 joined in store, P03 needs the store.
INTERVIEWEE_SEGMENTS = {
    "P01": "Store loyalists",
    "P02": "Price hunters",
    "P03": "Store loyalists",
    "P04": "Digital natives",
}
# P01 and P02 got human help in their first month (see `_demo_survey`), P03 and P04 none of
# their own: their spend sits with their segment's respondents who did, or did not.
INTERVIEWEE_SPEND = {"P01": 720.23, "P02": 438.79, "P03": 633.69, "P04": 560.29}
PARTICIPANT_SEGMENTS = {
    **INTERVIEWEE_SEGMENTS,
    **{r["pseudonym"]: r["segment"] for r in survey.RESPONDENTS},
}
BILLING_CODES = frozenset(
    child["name"]
    for theme in data.CODEBOOK
    if theme["name"] == "Billing clarity"
    for child in theme["children"]
)
HEADER = "customer_ref;segment;first_year_spend;tenure_months;nps;churned;joined"


def csv_bytes() -> bytes:
    """The snapshot as a semicolon CSV with CRLF (as exported from Excel), seeded: stable."""
    rng = random.Random(2026)  # noqa: S311  (demo numbers, not secrets)
    lines = [HEADER]
    refs = [(p["customer_ref"], INTERVIEWEE_SEGMENTS[p["pseudonym"]]) for p in data.PARTICIPANTS]
    spends = {p["customer_ref"]: INTERVIEWEE_SPEND[p["pseudonym"]] for p in data.PARTICIPANTS}
    refs += [(f"NWM-C-{60000 + i:07d}", SEGMENTS[rng.randrange(3)]) for i in range(200)]
    base = {"Digital natives": 420.0, "Store loyalists": 610.0, "Price hunters": 280.0}
    for ref, segment in refs:
        drawn = round(rng.gauss(base[segment], 90), 2)  # drawn for every row: keeps the others
        spend = spends.get(ref, drawn)
        nps = "" if rng.random() < 0.1 else str(rng.randint(0, 10))  # blanks are missing values
        churned = "yes" if rng.random() < (0.3 if segment == "Price hunters" else 0.1) else "no"
        joined = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        lines.append(f"{ref};{segment};{spend};{rng.randint(1, 14)};{nps};{churned};{joined}")
    lines += _respondent_rows()
    return ("\r\n".join(lines) + "\r\n").encode()


def _respondent_rows() -> list[str]:
    """The survey respondents joined in January or February 2026; their NPS leans low when the
    bill surprised them, and a few price hunters have already left."""
    rng = random.Random(2027)  # noqa: S311  (demo numbers, not secrets)
    rows = []
    for respondent in survey.RESPONDENTS:
        billing = any(code in BILLING_CODES for _coder, code, _ in respondent["excerpts"])
        nps = rng.randint(0, 6) if billing else rng.randint(5, 10)
        price_hunter = respondent["segment"] == "Price hunters"
        churned = "yes" if billing and price_hunter and rng.random() < 0.3 else "no"
        joined = f"2026-{rng.randint(1, 2):02d}-{rng.randint(1, 28):02d}"
        rows.append(
            f"{respondent['customer_ref']};{respondent['segment']};"
            f"{respondent['first_year_spend']};1;{nps};{churned};{joined}"
        )
    return rows
