"""workspace.js's selectionToOffsets, run in the browser on constructed DOM ranges.

Offsets are Python `str` indices (code points); the expected values come from Python below, so a
UTF-16 slip (emoji, astral characters) fails here.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from tests.e2e.test_workspace import open_workspace, transcript

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]

# Builds a root from HTML, selects [from, to) of two text nodes found by their text, and returns
# selectionToOffsets' answer. Nodes are found by `needle` (a substring of the node's text) and
# offsets into them are UTF-16 units, as the DOM counts.
PROBE = """async ([html, a, aAt, b, bAt]) => {
  const mod = await import("/static/frontend/workspace.js");
  const root = document.createElement("div");
  root.innerHTML = html;
  document.body.appendChild(root);
  const find = (needle) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) if (n.data.includes(needle)) return n;
    throw new Error("no node " + needle);
  };
  const na = find(a), nb = find(b);
  const range = document.createRange();
  range.setStart(na, na.data.indexOf(a) + aAt);
  range.setEnd(nb, nb.data.indexOf(b) + bAt);
  const out = mod.selectionToOffsets(range, root);
  root.remove();
  return out;
}"""


@pytest.fixture
def ready(team, live_server, page: Page, login) -> Page:
    document = transcript(team.project, ["Hello there."])
    login(page, "coder1")
    open_workspace(page, live_server, document)
    return page


def _offsets(page: Page, html: str, a: str, a_at: int, b: str, b_at: int):
    return page.evaluate(PROBE, [html, a, a_at, b, b_at])


def test_offsets_span_two_turns_when_selection_crosses_a_turn_boundary(ready):
    text = "First turn here.\nSecond turn there."
    html = (
        '<section><p class="head">Anna 00:01</p><p data-start="0">First turn here.</p></section>'
        '<span data-start="16" hidden>\n</span>'
        '<section><p class="head">Ben 00:09</p><p data-start="17">Second turn there.</p></section>'
    )
    got = _offsets(ready, html, "turn here", 0, "Second turn", len("Second"))
    assert got == {"start": text.index("turn here"), "end": text.index("Second") + len("Second")}


def test_offsets_count_from_holder_when_selection_is_inside_nested_highlight(ready):
    text = "ab cd ef gh ij"
    html = '<p data-start="100">ab <mark>cd <span class="x">ef</span> gh</mark> ij</p>'
    got = _offsets(ready, html, "ef", 0, "ef", 2)
    assert got == {"start": 100 + text.index("ef"), "end": 100 + text.index("ef") + 2}
    got = _offsets(ready, html, "cd", 0, " ij", 3)
    assert got == {"start": 100 + text.index("cd"), "end": 100 + len(text)}


def test_offsets_are_code_points_when_an_emoji_precedes_the_selection(ready):
    text = "I 😀 love 𝒳 it"
    html = f'<p data-start="0">{text}</p>'
    # In UTF-16 "love" starts at 5 (the emoji is two units); in Python at 4.
    got = _offsets(ready, html, "love", 0, "love", 4)
    assert got == {"start": text.index("love"), "end": text.index("love") + 4}
    got = _offsets(ready, html, "it", 0, "it", 2)
    assert got == {"start": text.index("it"), "end": len(text)}


def test_offsets_are_code_points_when_painted_segments_follow_an_emoji(ready):
    # Painted segments carry their own data-start (already code points).
    text = "😀😀 ok 😀 fine"
    html = (
        '<p data-start="0"><span data-start="0">😀😀 </span>'
        '<mark data-start="3">ok 😀</mark><span data-start="7"> fine</span></p>'
    )
    got = _offsets(ready, html, "ok", 0, "fine", 4)
    assert got == {"start": text.index("ok"), "end": len(text)}


def test_offsets_are_trimmed_when_selection_has_outer_white_space(ready):
    text = "one   two three  \n four"
    html = f'<p data-start="7">{text}</p>'
    got = _offsets(ready, html, "one", 3, "three  \n", 8)
    assert got == {"start": 7 + text.index("two"), "end": 7 + text.index("three") + 5}


def test_offsets_are_none_when_selection_is_only_white_space(ready):
    html = '<p data-start="0">a     b</p>'
    assert _offsets(ready, html, "a ", 1, "a ", 4) is None


def test_offsets_skip_speaker_labels_when_selection_starts_in_one(ready):
    html = '<section><p class="head">Anna</p><p data-start="40">Words.</p></section>'
    got = _offsets(ready, html, "Anna", 0, "Words.", 5)
    assert got == {"start": 40, "end": 45}


def test_real_page_maps_selection_inside_a_painted_highlight(team, live_server, page: Page, login):
    from tests.factories import CodeFactory, ExcerptFactory

    lines = ["Hi 😀 there.", "The 😀 𝒳 roaming charges were a shock to me."]
    document = transcript(team.project, lines)
    start = document.text.index("roaming")
    ExcerptFactory.create(
        document=document,
        code=CodeFactory.create(project=team.project, name="Billing"),
        coder=team.researcher,
        start=start,
        end=start + len("roaming charges"),
    )
    login(page, "coder1")
    open_workspace(page, live_server, document)
    got = page.evaluate(
        """async () => {
          const mod = await import("/static/frontend/workspace.js");
          const mark = document.querySelector("mark.ws-hl");
          const node = mark.firstChild;
          const range = document.createRange();
          range.setStart(node, 8);  // "charges" inside "roaming charges"
          range.setEnd(node, 15);
          return mod.selectionToOffsets(range, document.getElementById("ws-doc"));
        }"""
    )
    assert got == {"start": document.text.index("charges"), "end": start + len("roaming charges")}
    # Painting cut the text at code-point offsets: the highlight holds exactly the coded words.
    assert page.locator("mark.ws-hl").inner_text() == "roaming charges"
    assert reverse("frontend:document-code", args=[team.project.slug, document.pk]) in page.url
