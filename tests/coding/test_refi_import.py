"""REFI-QDA import into the database (coding.refi.importer), from hand-built `QdaProject`s."""

import pytest
from django.core.exceptions import ValidationError

from coding.models import Code, CodebookChange, Excerpt, Memo
from coding.refi.export_cases import KIND_VARIABLE
from coding.refi.importer import import_qda
from coding.refi.model import (
    QdaCase,
    QdaCode,
    QdaCoding,
    QdaNote,
    QdaProject,
    QdaSelection,
    QdaSource,
    QdaUser,
    QdaVariable,
)
from observations.models import Document
from research.models import Job, Participant, User
from research.roles import Role
from tests.factories import CodeFactory, ParticipantFactory

TEXT = "Interviewer: How was it?\nCustomer: The activation took three days.\n"


def _project() -> QdaProject:
    """Two users (one known by username, one unknown), a code tree, one source with two coded
    selections, notes of every kind, a case and a nameless case."""
    start = TEXT.index("The activation")
    return QdaProject(
        name="Calls",
        users=[
            QdaUser(guid="u1", name="Coder One", id="coder1"),
            QdaUser(guid="{u2}", name="Ann Other"),
            QdaUser(guid="u3", name="Idle Person"),
        ],
        codes=[
            QdaCode(
                guid="c1",
                name="Activation",
                color="#AA0000",
                description="Getting the line working",
                children=[QdaCode(guid="c2", name="Delay", note_guids=["n-code"])],
            )
        ],
        variables=[
            QdaVariable(guid="v-age", name="age", type="Integer"),
            QdaVariable(guid="v-ref", name="customer_ref"),
            QdaVariable(guid="v-kind", name=KIND_VARIABLE),
            QdaVariable(guid="v-lang", name="Language"),
        ],
        cases=[
            QdaCase(
                guid="case1",
                name="P01",
                variables={"v-age": 34, "v-ref": "C-1001"},
                source_guids=["s1"],
            ),
            QdaCase(
                guid="case2", variables={"v-kind": "survey", "v-lang": "en"}, source_guids=["s1"]
            ),
        ],
        sources=[
            QdaSource(
                guid="s1",
                name="Call 1",
                text=TEXT,
                note_guids=["n-source"],
                selections=[
                    QdaSelection(
                        guid="sel1",
                        start=start,
                        end=start + len("The activation took three days"),
                        description="slow",
                        user_guid="U2",
                        codings=[QdaCoding(guid="k1", code_guid="c2", user_guid="u1")],
                        note_guids=["n-sel"],
                    ),
                    QdaSelection(
                        guid="sel2",
                        start=start,
                        end=start + len("The activation"),
                        user_guid="u2",
                        codings=[QdaCoding(guid="k2", code_guid="C1")],
                    ),
                    QdaSelection(guid="sel3", start=5, end=500, codings=[]),
                ],
            )
        ],
        notes=[
            QdaNote(guid="n-code", name="About delay", text="Often a week.", user_guid="u1"),
            QdaNote(guid="n-source", text="Good call."),
            QdaNote(guid="n-sel", name="Why", text="No one told them.", user_guid="u2"),
            QdaNote(guid="n-free", name="Overall", text="Activation dominates."),
        ],
        not_carried=["1 PictureSource 'photo.jpg': Verbatim holds text only"],
    )


def test_import_creates_codes_documents_excerpts_memos_and_participants(team):
    report = import_qda(team.project, _project(), user=team.researcher)

    delay = Code.objects.get(project=team.project, name="Delay")
    assert delay.parent is not None
    assert delay.parent.name == "Activation"
    assert delay.parent.color == "#aa0000"
    assert delay.parent.description == "Getting the line working"
    document = Document.objects.get(project=team.project)
    assert (document.title, document.text, document.kind) == ("Call 1", TEXT, "survey")
    assert document.participant is not None
    assert document.participant.pseudonym == "P01"
    assert document.participant.customer_ref == "C-1001"
    assert document.participant.attributes == {"age": 34}
    assert [turn.speaker for turn in document.turns.order_by("index")] == [
        "Interviewer",
        "Customer",
    ]
    excerpts = {e.code.name: e for e in Excerpt.objects.filter(project=team.project)}
    assert excerpts["Delay"].text == "The activation took three days"
    assert excerpts["Delay"].coder == team.coder  # QdaUser.id == username
    assert excerpts["Delay"].memo == "slow"
    placeholder = excerpts["Activation"].coder  # the selection's user: unknown, so created
    assert (placeholder.username, placeholder.display_name) == ("ann.other", "Ann Other")
    assert not placeholder.is_active
    assert not placeholder.has_usable_password()
    assert team.project.memberships.get(user=placeholder).role == Role.CODER
    memos = {memo.text: memo for memo in Memo.objects.filter(project=team.project)}
    assert memos["Often a week."].code == delay
    assert memos["Often a week."].author == team.coder
    assert memos["Good call."].document == document
    assert memos["Good call."].author == team.researcher
    assert memos["No one told them."].excerpt == excerpts["Delay"]
    assert memos["No one told them."].author == placeholder
    assert memos["Activation dominates."].title == "Overall"
    assert memos["Activation dominates."].document is None
    assert report.created == {
        "codes": 2,
        "documents": 1,
        "participants": 1,
        "users": 1,
        "members": 1,  # coder1 is already a member
        "excerpts": 2,
        "memos": 4,
    }
    assert report.placeholder_users == ["ann.other"]
    assert report.matched_users == ["coder1"]
    assert report.not_carried[0] == "1 PictureSource 'photo.jpg': Verbatim holds text only"
    lines = "\n".join(report.not_carried)
    assert "Language" in lines
    assert KIND_VARIABLE not in lines
    assert "1 selection(s) outside their source's text" in lines
    assert "1 user(s) of the file did no imported work" in lines
    assert not User.objects.filter(display_name="Idle Person").exists()
    assert CodebookChange.objects.get(project=team.project).action == "import"


def test_import_queues_processing_of_each_document_after_commit(
    team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = import_qda(team.project, _project(), user=team.researcher)
    job = Job.objects.get(kind="document_process")
    assert job.params == {"document": report.documents[0]}
    assert callbacks  # the job is enqueued only once the import commits


def test_import_reuses_codes_by_path_and_participants_by_pseudonym(team):
    activation = CodeFactory.create(project=team.project, name="activation", color="#123456")
    ParticipantFactory.create(
        project=team.project, pseudonym="p01", customer_ref="", attributes={"age": 40}
    )

    report = import_qda(team.project, _project(), user=team.researcher)

    activation.refresh_from_db()
    assert activation.color == "#123456"  # a reused code is left as it was
    assert Code.objects.filter(project=team.project).count() == 2
    assert report.reused_codes == ["Activation"]
    assert report.created["codes"] == 1
    assert report.reused["codes"] == 1
    participant = Participant.objects.get(project=team.project)
    assert participant.attributes == {"age": 40}
    assert participant.customer_ref == "C-1001"  # it had none
    assert report.reused_participants == ["P01"]
    assert "attribute 'age' kept as 40; the file has 34" in "\n".join(report.not_carried)


def test_positions_follow_the_text_when_normalising_changes_it(team):
    raw = "\ufeffA line\r\nCafe\u0301 was shut\r\n"
    start = raw.index("was")
    qda = QdaProject(
        name="x",
        codes=[QdaCode(guid="c", name="Closed")],
        sources=[
            QdaSource(
                guid="s",
                name="Notes",
                text=raw,
                selections=[
                    QdaSelection(
                        guid="a", start=start, end=start + 8, codings=[QdaCoding("k", "c")]
                    )
                ],
            )
        ],
    )
    import_qda(team.project, qda, user=team.researcher)
    excerpt = Excerpt.objects.get(project=team.project)
    assert excerpt.document.text == "A line\nCafé was shut\n"
    assert excerpt.text == "was shut"
    assert excerpt.coder == team.researcher  # nobody named in the file: the importing user


def test_an_empty_source_and_a_project_without_codes_import(team):
    qda = QdaProject(
        name="x",
        sources=[
            QdaSource(guid="s", name="Scan", text="  "),
            QdaSource(guid="t", name="T", text="Hi"),
        ],
    )
    report = import_qda(team.project, qda, user=team.researcher)
    assert list(Document.objects.filter(project=team.project).values_list("title", flat=True)) == [
        "T"
    ]
    assert report.not_carried == [
        "Source 'Scan' has no text and was not imported (0 selection(s) with it)."
    ]
    assert report.created["codes"] == 0


def test_nothing_is_written_when_a_coding_cannot_be_imported(team):
    CodeFactory.create(project=team.project, name="Activation", is_archived=True)
    users_before = User.objects.count()

    with pytest.raises(ValidationError, match=r"Source 'Call 1', selection .*archived"):
        import_qda(team.project, _project(), user=team.researcher)

    assert not Document.objects.filter(project=team.project).exists()
    assert not Participant.objects.filter(project=team.project).exists()
    assert Code.objects.filter(project=team.project).count() == 1
    assert User.objects.count() == users_before


def test_placeholder_usernames_are_unique(team):
    User.objects.create(username="ann.other")
    qda = _project()
    qda.users.append(QdaUser(guid="u4", name="Ann  Other!"))
    qda.notes.append(QdaNote(guid="n4", text="Another.", user_guid="u4"))

    report = import_qda(team.project, qda, user=team.researcher)

    assert report.placeholder_users == ["ann.other-2", "ann.other-3"]


def test_notes_of_a_coding_become_that_excerpts_memo_and_other_notes_memos_with_every_link(team):
    qda = QdaProject(
        name="x",
        users=[QdaUser("a", id="coder1"), QdaUser("b", id="researcher1")],
        codes=[QdaCode(guid="c", name="Price", note_guids=["both"])],
        variables=[
            QdaVariable("v1", "customer_ref (attribute)"),
            QdaVariable("v2", "Segment: Value 2026"),
        ],
        cases=[QdaCase("p", "P9", variables={"v1": "x", "v2": "Budget"}, source_guids=["s"])],
        sources=[
            QdaSource(
                guid="s",
                name="Doc",
                text="It costs too much.",
                note_guids=["both"],
                selections=[
                    QdaSelection(
                        guid="sel",
                        start=3,
                        end=17,
                        codings=[
                            QdaCoding("k1", "c", user_guid="a", note_guids=["own"]),
                            QdaCoding("k2", "c", user_guid="b"),
                        ],
                        note_guids=["own", "about"],
                    )
                ],
            )
        ],
        notes=[
            QdaNote("own", name="Memo: costs too much", text="Coder one's memo", user_guid="a"),
            QdaNote("about", name="Annotation", text="Researcher's note", user_guid="b"),
            QdaNote("both", text="Price, in this call"),
        ],
    )

    report = import_qda(team.project, qda, user=team.researcher)

    mine, theirs = Excerpt.objects.filter(project=team.project).order_by("coder__username")
    assert (mine.coder, mine.memo) == (team.coder, "Coder one's memo")
    assert (theirs.coder, theirs.memo) == (team.researcher, "")
    memos = {memo.text: memo for memo in Memo.objects.filter(project=team.project)}
    assert set(memos) == {"Researcher's note", "Price, in this call"}
    assert memos["Researcher's note"].excerpt == theirs  # the excerpt its author coded
    both = memos["Price, in this call"]
    assert (both.code, both.document) == (mine.code, mine.document)
    participant = Participant.objects.get(project=team.project)
    assert (participant.attributes, participant.customer_ref) == ({"customer_ref": "x"}, "")
    assert "Segment membership of participants (Value 2026)" in "\n".join(report.not_carried)


def test_code_descriptions_written_by_verbatim_fill_the_notes_again(team):
    description = "Cost.\n\nInclusion notes: any price\n\nExample: too dear"
    qda = QdaProject(name="x", codes=[QdaCode(guid="c", name="Price", description=description)])
    import_qda(team.project, qda, user=team.researcher)
    code = Code.objects.get(project=team.project)
    assert (code.description, code.inclusion_notes, code.example) == (
        "Cost.",
        "any price",
        "too dear",
    )


def test_a_note_whose_file_is_missing_is_reported_once_with_what_became_of_it(team):
    qda = QdaProject(name="x")
    qda.notes = [
        QdaNote(guid="n1", name="Lost", missing_path="internal://lost.txt"),
        QdaNote(guid="n2", name="Half", text="Its description.", missing_path="notes/half.txt"),
        QdaNote(guid="n3", name="Blank", text="  "),
    ]

    report = import_qda(team.project, qda, user=team.researcher)

    assert report.not_carried == [
        "1 empty note(s) were not imported.",
        "1 note(s) were not imported: their text file is not in the archive (internal://lost.txt).",
        "1 note(s) kept only their description: their text file is not in the archive "
        "(notes/half.txt).",
    ]
    assert list(Memo.objects.filter(project=team.project).values_list("title", "text")) == [
        ("Half", "Its description.")
    ]
