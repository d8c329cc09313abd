"""Every write to codes, excerpts and memos, re-exported so `from coding import services` works."""

from coding.services.codes import CODE_FIELDS, HEX_COLOR, code_create, code_delete, code_update
from coding.services.excerpts import excerpt_create, excerpt_delete, excerpt_update
from coding.services.memos import MEMO_FIELDS, memo_create, memo_delete, memo_update

__all__ = [
    "CODE_FIELDS",
    "HEX_COLOR",
    "MEMO_FIELDS",
    "code_create",
    "code_delete",
    "code_update",
    "excerpt_create",
    "excerpt_delete",
    "excerpt_update",
    "memo_create",
    "memo_delete",
    "memo_update",
]
