"""The codebook page's pattern-rule editor (issue 6): reading the posted rules, their messages,
the editor's rows, and the live preview of a draft. The code form itself is in `codebook`."""

import json
import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_POST

from coding.models import Code
from frontend.views import AuthedRequest
from research.permissions import access_object, access_project
from research.roles import Capability

EDIT = Capability.EDIT_CODEBOOK
PATTERN_INDEX = re.compile(r"^pattern (\d+):")


def posted_patterns(request: AuthedRequest) -> list[object]:
    """The rules of the pattern editor's rows (`pattern_type`/`pattern_value` pairs), in order.

    An emptied row is dropped (that is how a rule is removed without JavaScript); a token
    pattern's JSON that does not parse is refused with its row's number.
    """
    types = request.POST.getlist("pattern_type")
    values = request.POST.getlist("pattern_value")
    rules: list[object] = []
    problems: list[str] = []
    for kind, raw in zip(types, values, strict=False):
        value = raw.strip()
        if not value:
            continue
        if kind == "tokens":
            try:
                rules.append({"type": kind, "pattern": json.loads(value)})
            except json.JSONDecodeError as exc:
                problems.append(
                    f"pattern {len(rules)}: the token pattern is not valid JSON ({exc.msg}, "
                    f"line {exc.lineno}, column {exc.colno})."
                )
                rules.append(None)
        else:
            rules.append({"type": kind, "text": value})
    if problems:
        raise ValidationError({"patterns": problems})
    return rules


def rule_messages(messages: list[str]) -> list[str]:
    """The service's "pattern 3: ..." as the editor numbers its rows: "Rule 4: ..."."""
    return [
        PATTERN_INDEX.sub(lambda found: f"Rule {int(found[1]) + 1}:", message)
        for message in messages
    ]


def pattern_rows(code: Code, form_values: Any) -> list[dict[str, str]]:
    """The editor's rows: the posted draft after a refused save, else the stored rules."""
    if form_values and form_values.get("action") == "patterns":
        pairs = zip(
            form_values.getlist("pattern_type"), form_values.getlist("pattern_value"), strict=False
        )
        return [{"type": kind, "value": value} for kind, value in pairs if value.strip()]
    rows = []
    for rule in code.patterns if isinstance(code.patterns, list) else []:
        kind = rule.get("type", "") if isinstance(rule, dict) else ""
        if kind == "tokens":
            value = json.dumps(rule.get("pattern"), ensure_ascii=False)
        else:
            value = str(rule.get("text", "")) if isinstance(rule, dict) else json.dumps(rule)
        rows.append({"type": kind, "value": value})
    return rows


@login_required
@require_POST
def codebook_patterns_preview(request: AuthedRequest, slug: str, code_id: int) -> HttpResponse:
    """The live preview of the pattern editor's draft rules: hits across the project's ready
    documents and the first few sentences. Answers 200 with the problems when the draft is
    not valid yet (the editor swaps in whatever comes back while the user types)."""
    # Imported here: they load spaCy, which serving the other pages must not.
    from coding.suggest import patterns as pattern_rules
    from coding.suggest.preview import preview as pattern_preview

    access = access_project(request.user, slug, need=EDIT)
    code = access_object(access.project.codes.all(), code_id)
    context: dict[str, Any] = {"project": access.project, "code": code, "problems": []}
    try:
        rules = posted_patterns(request)
    except ValidationError as exc:
        context["problems"] = rule_messages(exc.messages)
    else:
        problems = pattern_rules.validate(rules)
        if problems:
            context["problems"] = rule_messages(problems)
        elif rules:
            result = pattern_preview(access.project, rules)
            context["result"] = result
            context["per_rule"] = [
                (i + 1, pattern_rules.describe(rule), result.per_pattern.get(i, 0))
                for i, rule in enumerate(rules)
            ]
    return render(request, "frontend/codebook/_preview.html", context)


urlpatterns = [
    path(
        "p/<slug:slug>/codebook/<int:code_id>/patterns/preview/",
        codebook_patterns_preview,
        name="codebook-patterns-preview",
    ),
]
