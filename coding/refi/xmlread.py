"""Tolerant, safe XML reading for REFI-QDA files: defusedxml, local names, forgiving attributes.

Tools disagree on namespaces (`urn:QDA-XML:project:1.0`, `:1.5`, `0:10`, the codebook's, none
at all), so elements are matched on their local name only. Attribute names are matched exactly
first, then ignoring case. No DTD is ever accepted: REFI-QDA needs none, and a DTD is how
entity attacks (external entities, "billion laughs") arrive.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from coding.refi.archive import RefiError
from coding.refi.model import guid as canonical_guid

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_EXTERNAL_ENTITY = re.compile(rb"<!ENTITY\s+%?\s*[^\s>]+\s+(SYSTEM|PUBLIC)", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}?$")


def parse(data: bytes, entry: str) -> Element:
    """The root element of `data`; RefiError naming `entry` for DTDs, entities or bad XML."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise RefiError(f"{entry}: {_attack(data)}; refused") from None
    except ParseError as exc:
        line, column = exc.position
        raise RefiError(
            f"{entry}: not well-formed XML (line {line}, column {column + 1})"
        ) from None


def _attack(data: bytes) -> str:
    if _EXTERNAL_ENTITY.search(data):
        return "declares an external entity (an XXE attack)"
    if _ENTITY.search(data):
        return "declares XML entities (a 'billion laughs' expansion)"
    if _DOCTYPE.search(data):
        return "declares a document type (DTD), possibly an external one; REFI-QDA needs none"
    return "uses forbidden XML constructs (entities or a DTD)"


def local(element: Element) -> str:
    """The element's name without its namespace."""
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def children(element: Element, *names: str) -> Iterator[Element]:
    """Direct children whose local name is one of `names`, in document order."""
    return (child for child in element if local(child) in names)


def child(element: Element, name: str) -> Element | None:
    """The first direct child with this local name."""
    return next(children(element, name), None)


def child_text(element: Element, name: str) -> str:
    """The text of the first direct child with this local name ("" when absent)."""
    found = child(element, name)
    return (found.text or "") if found is not None else ""


def attr(element: Element, name: str, default: str = "") -> str:
    """An attribute by name, matched exactly and then ignoring case (some tools write `GUID`)."""
    value = element.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in element.attrib.items() if k.lower() == lowered), None)
    return default if value is None else value


def guid_of(element: Element, name: str = "guid") -> str:
    """A GUID attribute in canonical form (braces and case ignored); a fresh one when missing,
    so an element without one can still be carried (nothing can refer to it anyway)."""
    value = attr(element, name).strip()
    return canonical_guid(value) if value else str(uuid.uuid4()).upper()


def ref_guid(element: Element) -> str:
    """The GUID a `...Ref` element points at: `targetGUID`, or `guid`, or its text."""
    value = attr(element, "targetGUID") or attr(element, "guid") or (element.text or "")
    return canonical_guid(value) if value.strip() else ""


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value.strip()))


def boolean(value: str, default: bool) -> bool:
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    return default


def timestamp(value: str) -> dt.datetime | None:
    """An xsd:dateTime as an aware datetime (UTC assumed when the file gives no zone)."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def colour(value: str) -> str:
    """`#RRGGBB` from `#RGB` or `#RRGGBB` (case kept); "" for anything else."""
    value = value.strip()
    if re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        return value
    if re.fullmatch(r"#[0-9A-Fa-f]{3}", value):
        return "#" + "".join(digit * 2 for digit in value[1:])
    return ""
