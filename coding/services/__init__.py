"""Every write to codes, excerpts and memos, re-exported so `from coding import services` works."""

from coding.services.codebook import (
    code_archive,
    code_merge,
    code_move,
    code_split,
    code_unarchive,
)
from coding.services.codebook_csv import ImportResult, codebook_export_csv, codebook_import_csv
from coding.services.codes import CODE_FIELDS, HEX_COLOR, code_create, code_delete, code_update
from coding.services.excerpts import excerpt_create, excerpt_delete, excerpt_update
from coding.services.history import codebook_undo
from coding.services.memos import MEMO_FIELDS, memo_create, memo_delete, memo_update

__all__ = [
    "CODE_FIELDS",
    "HEX_COLOR",
    "MEMO_FIELDS",
    "ImportResult",
    "code_archive",
    "code_create",
    "code_delete",
    "code_merge",
    "code_move",
    "code_split",
    "code_unarchive",
    "code_update",
    "codebook_export_csv",
    "codebook_import_csv",
    "codebook_undo",
    "excerpt_create",
    "excerpt_delete",
    "excerpt_update",
    "memo_create",
    "memo_delete",
    "memo_update",
]
