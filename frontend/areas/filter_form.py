"""The evidence filters the analysis pages share (dashboard, co-occurrence): source types,
customer speech only, a date range. Bad values are reported in words and left out."""

from datetime import date

from django.http import QueryDict

from coding import analysis


def parse_date(raw: str, label: str, errors: list[str]) -> date | None:
    """`raw` as a date (YYYY-MM-DD), None when empty or unreadable (then reported)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{label}: “{raw}” is not a date (use YYYY-MM-DD); it was ignored.")
        return None


def evidence_filters(query: QueryDict, errors: list[str]) -> analysis.Filters:
    """The filters of the form's `source`, `customer_speech`, `date_from` and `date_to`."""
    sources: set[str] = set()
    for raw in query.getlist("source"):
        for name in filter(None, (part.strip() for part in raw.split(","))):
            if name in analysis.SOURCES:
                sources.add(name)
            else:
                errors.append(f"Source type “{name}” is unknown; it was ignored.")
    date_from = parse_date(query.get("date_from", ""), "From", errors)
    date_to = parse_date(query.get("date_to", ""), "To", errors)
    if date_from and date_to and date_from > date_to:
        errors.append("The “from” date is after the “to” date; both were ignored.")
        date_from = date_to = None
    return analysis.Filters(
        sources=frozenset(sources),
        customer_speech_only=query.get("customer_speech", "") in ("1", "on", "true"),
        date_from=date_from,
        date_to=date_to,
    )
