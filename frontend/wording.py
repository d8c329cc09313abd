"""Plain-language text the pages show about roles and capabilities.

Presentation only: what a role may do is decided by `research.roles`; this module just says it in
words a CX researcher would use (the glossary in ARCHITECTURE.md).
"""

from research.roles import Capability, Role

ROLE_SUMMARY: dict[Role, str] = {
    Role.OWNER: "Sets up the study, invites people and decides how long data is kept.",
    Role.RESEARCHER: (
        "Plans and logs observation sessions, imports transcripts and segmentations, "
        "and keeps the codebook in shape."
    ),
    Role.CODER: "Tags transcripts and field notes with codes and writes memos.",
    Role.MANAGER: "Reviews themes against customer segments, reads the evidence, exports reports.",
}

# In the order a researcher meets them in the study's life.
CAPABILITY_TEXT: tuple[tuple[Capability, str], ...] = (
    (Capability.READ, "Read everything in the project: participants, sessions, transcripts, codes"),
    (Capability.CAPTURE, "Plan and log observation sessions and their field notes"),
    (Capability.IMPORT, "Import transcripts and customer segmentations"),
    (Capability.CODE, "Code transcripts and field notes, and write your own memos"),
    (Capability.EDIT_CODEBOOK, "Add, rename and reorganise codes in the codebook"),
    (Capability.EDIT_OTHERS_WORK, "Correct other people's excerpts and memos"),
    (Capability.EXPORT, "Export data and reports"),
    (Capability.MANAGE_PROJECT, "Change the project's settings and how long data is kept"),
    (Capability.MANAGE_MEMBERS, "Add people to the project, change their roles, remove them"),
)

# The project-home figures: key in `coding.selectors.project_overview`, label, one-line meaning.
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("participants", "Participants", "people observed or interviewed"),
    ("sessions", "Observation sessions", "blocks of fieldwork"),
    ("documents", "Documents", "transcripts, field notes, answers"),
    ("codes", "Codes", "labels in the codebook"),
    ("excerpts", "Excerpts", "coded passages of text"),
)


def abilities(role: Role) -> tuple[list[str], list[str]]:
    """What `role` may and may not do, as two lists of sentences."""
    can = [text for capability, text in CAPABILITY_TEXT if role.can(capability)]
    cannot = [text for capability, text in CAPABILITY_TEXT if not role.can(capability)]
    return can, cannot
