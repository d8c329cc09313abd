"""A `.qdpx` archive opened safely: checked before anything is read, read into memory by name.

Nothing is ever extracted to disk. Opening checks the whole central directory first: the number
of entries, the total declared uncompressed size, each entry's compression ratio (a zip bomb),
and each name (absolute paths, `..`, drive letters, backslash tricks, symlinks, duplicates —
also duplicates that differ only in case, as lookups here ignore case). Reading then counts
the bytes actually produced, because a header can lie about an entry's size.

Lookups are tolerant of how real tools lay the archive out: `project.qde` in any case (or the
only `.qde` at the top), sources in `sources/` or `Sources/` (any case) or beside the `.qde`,
referred to as `internal://<name>`, `sources/<name>` or a bare `<name>`, with GUID file names
in any case and with or without braces.
"""

from __future__ import annotations

import io
import posixpath
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings

# An entry may expand to this many times its compressed size once it is bigger than the floor;
# deflate can reach ~1000x on a run of one byte, real text rarely passes 20x.
MAX_RATIO = 100
RATIO_FLOOR = 1024 * 1024
_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


class RefiError(ValueError):
    """A REFI-QDA file that cannot be read safely or at all; the message names the entry."""


@dataclass
class QdpxArchive:
    """An opened, checked `.qdpx`. `read()` and `source()` read members lazily into memory."""

    zip: zipfile.ZipFile
    project_entry: str
    max_bytes: int
    _entries: dict[str, zipfile.ZipInfo] = field(default_factory=dict)  # lower name -> info
    _sources: dict[str, zipfile.ZipInfo] = field(default_factory=dict)  # lower file name -> info
    _read_so_far: int = 0

    def project_xml(self) -> bytes:
        """The bytes of the project's `.qde` file."""
        return self._read(self._entries[self.project_entry.lower()])

    def source(self, path: str) -> bytes | None:
        """The bytes of an internal source named as the `.qde` names it, or None when absent.

        `internal://X.txt`, `sources/X.txt` and `X.txt` all name `sources/X.txt`; `relative://`
        and `absolute://` paths name files outside the archive and give None.
        """
        key = _source_key(path)
        info = self._sources.get(key) if key else None
        return None if info is None else self._read(info)

    def names(self) -> list[str]:
        """Every file entry's name, as checked (forward slashes)."""
        return sorted(_clean_name(info.filename) for info in self._entries.values())

    def _read(self, info: zipfile.ZipInfo) -> bytes:
        name = _clean_name(info.filename)
        out = io.BytesIO()
        try:
            with self.zip.open(info) as member:
                while chunk := member.read(_CHUNK):
                    out.write(chunk)
                    self._read_so_far += len(chunk)
                    if out.tell() > info.file_size:
                        raise RefiError(
                            f"{name}: holds more data than its header declares "
                            f"({info.file_size:,} bytes); refused as a zip bomb"
                        )
                    if self._read_so_far > self.max_bytes:
                        raise RefiError(
                            f"{name}: reading it passes the limit of {self.max_bytes:,} bytes "
                            "for one archive (VERBATIM_REFI_MAX_BYTES); refused"
                        )
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise RefiError(
                f"{name}: cannot be read ({exc}); the archive is damaged or its header lies "
                "about the entry's size"
            ) from None
        except NotImplementedError as exc:
            raise RefiError(f"{name}: cannot be read ({exc})") from None
        return out.getvalue()


def open_qdpx(
    fileobj: IO[bytes], *, max_entries: int | None = None, max_bytes: int | None = None
) -> QdpxArchive:
    """Open a `.qdpx` for reading after checking every entry; raise RefiError naming the
    first entry that is unsafe. Limits default to VERBATIM_REFI_MAX_ENTRIES / _MAX_BYTES."""
    max_entries = max_entries if max_entries is not None else settings.VERBATIM_REFI_MAX_ENTRIES
    max_bytes = max_bytes if max_bytes is not None else settings.VERBATIM_REFI_MAX_BYTES
    try:
        archive = zipfile.ZipFile(fileobj)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise RefiError("the file is not a .qdpx (zip) archive, or it is damaged") from None
    if len(infos) > max_entries:
        raise RefiError(
            f"the archive has {len(infos):,} entries, more than the {max_entries:,} allowed "
            "(VERBATIM_REFI_MAX_ENTRIES); refused"
        )
    entries: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = _check_entry(info)
        if info.is_dir():
            continue
        if name.lower() in entries:
            raise RefiError(f"{name}: the archive holds this name twice; refused as ambiguous")
        entries[name.lower()] = info
        total += info.file_size
        if total > max_bytes:
            raise RefiError(
                f"{name}: the archive would expand to more than {max_bytes:,} bytes "
                "(VERBATIM_REFI_MAX_BYTES); refused"
            )
    project = _project_entry(entries)
    result = QdpxArchive(zip=archive, project_entry=project, max_bytes=max_bytes)
    result._entries = entries
    result._sources = _source_index(entries, project)
    return result


def _check_entry(info: zipfile.ZipInfo) -> str:
    """The entry's name with `/` separators, or RefiError if the entry is unsafe."""
    raw = info.filename
    name = _clean_name(raw)
    shown = repr(raw) if "\\" in raw or "\x00" in raw else raw
    if "\x00" in raw:
        raise RefiError(f"{shown}: the name holds a NUL byte; refused")
    if name.startswith("/") or _DRIVE.match(name):
        raise RefiError(f"{shown}: an absolute path; refused (entries must stay in the archive)")
    if ".." in name.split("/"):
        raise RefiError(f"{shown}: the path climbs out of the archive with '..'; refused")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise RefiError(f"{shown}: a symbolic link; refused")
    if info.flag_bits & 0x1:
        raise RefiError(f"{shown}: encrypted; refused (export the project without a password)")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise RefiError(
            f"{shown}: would expand {info.file_size // max(info.compress_size, 1):,} times "
            f"(to {info.file_size:,} bytes); refused as a zip bomb"
        )
    return name


def _clean_name(raw: str) -> str:
    # Some Windows tools write `\` as the separator; read it as `/` so that `..\x` is caught too.
    return raw.replace("\\", "/")


def _project_entry(entries: dict[str, zipfile.ZipInfo]) -> str:
    """The `.qde` entry: `project.qde` in any case at the top, else the only top-level `.qde`."""
    top = [name for name in entries if "/" not in name and name.endswith(".qde")]
    if "project.qde" in top:
        return _clean_name(entries["project.qde"].filename)
    if len(top) == 1:
        return _clean_name(entries[top[0]].filename)
    if not top:
        raise RefiError("project.qde: not found at the top of the archive; is this a .qdpx?")
    raise RefiError(f"project.qde: not found, and {len(top)} other .qde files are; ambiguous")


def _source_index(entries: dict[str, zipfile.ZipInfo], project: str) -> dict[str, zipfile.ZipInfo]:
    """Sources by lower-case file name: `sources/` (any case) first, then files at the top."""
    index: dict[str, zipfile.ZipInfo] = {}
    for name, info in entries.items():
        folder, base = posixpath.split(name)
        if folder == "" and name != project.lower():
            index.setdefault(_source_key(base), info)
    for name, info in entries.items():
        folder, base = posixpath.split(name)
        if folder == "sources":
            index[_source_key(base)] = info  # the sources folder wins over a same-named top file
    return index


def _source_key(path: str) -> str:
    """How a source is looked up: its file name, lower case, without GUID braces; "" for
    paths outside the archive (`relative://`, `absolute://`, other URLs)."""
    path = path.strip().replace("\\", "/")
    lowered = path.lower()
    if lowered.startswith("internal://"):
        path = path[len("internal://") :]
    elif "://" in lowered:
        return ""
    return posixpath.basename(path).lower().replace("{", "").replace("}", "")
