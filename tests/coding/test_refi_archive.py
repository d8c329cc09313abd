"""Opening a .qdpx safely: hostile archives are refused naming the entry; real layouts are found."""

from __future__ import annotations

import io
import stat
import struct
import warnings
import zipfile

import pytest

from coding.refi.archive import RefiError, open_qdpx
from tests.coding.refi_data import qdpx

QDE = b"<Project name='p'/>"


def _with_info(info: zipfile.ZipInfo, data: bytes = b"x") -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.qde", QDE)
        archive.writestr(info, data)
    buffer.seek(0)
    return buffer


def test_open_refuses_entry_when_its_ratio_is_a_zip_bomb() -> None:
    archive = qdpx({"project.qde": QDE, "sources/bomb.txt": b"\0" * (8 * 1024 * 1024)})
    with pytest.raises(RefiError, match=r"sources/bomb\.txt: would expand .* zip bomb"):
        open_qdpx(archive)


def test_read_refuses_entry_when_its_header_lies_about_its_size() -> None:
    data = b"a" * 100_000
    archive = qdpx({"project.qde": QDE, "sources/liar.txt": data}).getvalue()
    # Declare 10 bytes in both the local and the central header; the data stays 100,000.
    patched = bytearray(archive)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (found := patched.find(signature, start)) != -1:
            name_at = found + (30 if signature == b"PK\x03\x04" else 46)
            if patched[name_at : name_at + 16] == b"sources/liar.txt":
                patched[found + offset : found + offset + 4] = struct.pack("<I", 10)
            start = found + 4
    opened = open_qdpx(io.BytesIO(bytes(patched)))
    with pytest.raises(RefiError, match=r"sources/liar\.txt: .*header lies"):
        opened.source("internal://liar.txt")


def test_open_refuses_archive_when_it_has_too_many_entries() -> None:
    entries = {"project.qde": QDE} | {f"sources/{i}.txt": b"x" for i in range(5)}
    with pytest.raises(RefiError, match=r"6 entries, more than the 5 allowed"):
        open_qdpx(qdpx(entries), max_entries=5)


def test_open_refuses_archive_when_declared_sizes_pass_the_limit() -> None:
    entries = {"project.qde": QDE, "sources/a.txt": b"x" * 600, "sources/b.txt": b"y" * 600}
    with pytest.raises(RefiError, match=r"sources/b\.txt: .*more than 1,000 bytes"):
        open_qdpx(qdpx(entries), max_bytes=1000)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../evil.txt", "climbs out"),
        ("sources/../../evil.txt", "climbs out"),
        ("..\\evil.txt", "climbs out"),
        ("/etc/passwd", "absolute path"),
        ("C:\\Windows\\evil.txt", "absolute path"),
    ],
)
def test_open_refuses_entry_when_its_path_escapes(name: str, problem: str) -> None:
    with pytest.raises(RefiError, match=problem) as caught:
        open_qdpx(_with_info(zipfile.ZipInfo(name)))
    assert name.replace("\\", "\\\\") in str(caught.value) or name in str(caught.value)


def test_open_refuses_entry_when_it_is_a_symlink() -> None:
    info = zipfile.ZipInfo("sources/link.txt")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(RefiError, match=r"sources/link\.txt: a symbolic link"):
        open_qdpx(_with_info(info, b"/etc/passwd"))


@pytest.mark.parametrize("second", ["sources/a.txt", "Sources/A.TXT"])
def test_open_refuses_archive_when_a_name_repeats(second: str) -> None:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we want
        archive.writestr("project.qde", QDE)
        archive.writestr("sources/a.txt", b"one")
        archive.writestr(second, b"two")
    buffer.seek(0)
    with pytest.raises(RefiError, match="holds this name twice"):
        open_qdpx(buffer)


def test_open_refuses_file_when_it_is_not_a_zip() -> None:
    with pytest.raises(RefiError, match=r"not a \.qdpx"):
        open_qdpx(io.BytesIO(b"<Project/>"))


def test_open_refuses_archive_when_it_has_no_project_qde() -> None:
    with pytest.raises(RefiError, match=r"project\.qde: not found"):
        open_qdpx(qdpx({"sources/a.txt": b"x"}))


def test_reading_stops_when_bytes_read_pass_the_limit() -> None:
    opened = open_qdpx(qdpx({"project.qde": QDE, "sources/a.txt": b"x" * 800}), max_bytes=900)
    assert opened.source("a.txt") == b"x" * 800
    with pytest.raises(RefiError, match=r"sources/a\.txt: reading it passes the limit"):
        opened.source("a.txt")  # the second read counts too: 1,600 bytes read in all


def test_sources_are_found_whatever_the_case_folder_and_path_form() -> None:
    entries = {
        "Project.QDE": QDE,
        "Sources/1DDD235C-9E58-4451-8C49-17013D5C3655.TXT": b"upper",
        "sources/{ab12cd34-0000-4000-8000-000000000001}.docx": b"braced",
        "beside.txt": b"top",
    }
    opened = open_qdpx(qdpx(entries))
    assert opened.project_entry == "Project.QDE"
    assert opened.project_xml() == QDE
    assert opened.source("internal://1ddd235c-9e58-4451-8c49-17013d5c3655.txt") == b"upper"
    assert opened.source("1DDD235C-9E58-4451-8C49-17013D5C3655.txt") == b"upper"
    assert opened.source("sources/1ddd235c-9e58-4451-8c49-17013d5c3655.TXT") == b"upper"
    assert opened.source("internal://AB12CD34-0000-4000-8000-000000000001.DOCX") == b"braced"
    assert opened.source("beside.txt") == b"top"
    assert opened.source("relative:///beside.txt") is None
    assert opened.source("internal://missing.txt") is None


def test_backslash_separators_are_read_as_folders() -> None:
    opened = open_qdpx(qdpx({"project.qde": QDE, "Sources\\a.txt": b"win"}))
    assert opened.source("internal://a.txt") == b"win"
