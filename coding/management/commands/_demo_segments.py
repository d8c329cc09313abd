"""The demo segmentation snapshot: the data-science team's onboarding segments for the demo
participants plus 200 other customers, as the CSV they would hand over. Pure data, no Django."""

import random

from coding.management.commands import _demo_data as data

NAME = "Onboarding segments"
FILE_NAME = "onboarding_segments_2026-02.csv"
SEGMENTS = ("Digital natives", "Store loyalists", "Price hunters")
# The demo participants' segments follow their stories: P01 joined in store, P03 needs the store.
PARTICIPANT_SEGMENTS = {
    "P01": "Store loyalists",
    "P02": "Price hunters",
    "P03": "Store loyalists",
    "P04": "Digital natives",
}


def csv_bytes() -> bytes:
    """The snapshot as a semicolon CSV with CRLF (as exported from Excel), seeded: stable."""
    rng = random.Random(2026)  # noqa: S311  (demo numbers, not secrets)
    lines = ["customer_ref;segment;first_year_spend;tenure_months;nps;churned;joined"]
    refs = [(p["customer_ref"], PARTICIPANT_SEGMENTS[p["pseudonym"]]) for p in data.PARTICIPANTS]
    refs += [(f"NWM-C-{60000 + i:07d}", SEGMENTS[rng.randrange(3)]) for i in range(200)]
    base = {"Digital natives": 420.0, "Store loyalists": 610.0, "Price hunters": 280.0}
    for ref, segment in refs:
        spend = round(rng.gauss(base[segment], 90), 2)
        nps = "" if rng.random() < 0.1 else str(rng.randint(0, 10))  # blanks are missing values
        churned = "yes" if rng.random() < (0.3 if segment == "Price hunters" else 0.1) else "no"
        joined = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        lines.append(f"{ref};{segment};{spend};{rng.randint(1, 14)};{nps};{churned};{joined}")
    return ("\r\n".join(lines) + "\r\n").encode()
