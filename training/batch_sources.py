"""The sources of a batch OCR run: a directory tree, a zip/tar archive (extracted safely
under a staging folder) or a list file of paths, listed deterministically, then hashed and
page-counted without decoding (identical contents kept once)."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from actors.ocr.batch import content_hash
from actors.ocr.errors import OcrError
from actors.ocr.loading import DocType, count_pages, detect_type


class BatchSourceError(ValueError):
    """The source is neither a directory, a zip/tar archive nor a list file."""


@dataclass(frozen=True)
class SourceFile:
    path: str  # where Ray reads it
    display: str  # path as reported in the output (relative to the source)
    digest: str
    pages: int
    image: bool = False  # a single-page PNG/JPEG/TIFF (Tesseract can read it as it is)


_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def list_source(src: Path, staging: Path) -> list[tuple[str, str]]:
    """``(path to read, path to report)`` for every file of a directory tree (hidden files
    skipped), archive (extracted under ``staging``) or list file (one path per line, relative
    to the list file, ``#`` comments). Sorted, deterministic."""
    if src.is_dir():
        return [
            (str(p), str(p.relative_to(src)))
            for p in sorted(src.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(src).parts)
        ]
    if not src.is_file():
        raise BatchSourceError(f"source not found: {src}")
    name = src.name.lower()
    if zipfile.is_zipfile(src) or name.endswith(_ARCHIVE_SUFFIXES) or _is_tar(src):
        return _extract(src, staging)
    return _read_list(src)


def _is_tar(src: Path) -> bool:
    try:
        return tarfile.is_tarfile(src)
    except OSError:
        return False


def _extract(archive: Path, staging: Path) -> list[tuple[str, str]]:
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    target = staging / digest
    done_marker = target / ".extracted"
    if not done_marker.exists():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as zf:
                    for info in zf.infolist():
                        if not info.is_dir():
                            _safe_write(target, info.filename, zf.read(info))
            else:
                with tarfile.open(archive) as tf:
                    for member in tf.getmembers():
                        if member.isfile():
                            handle = tf.extractfile(member)
                            if handle is not None:
                                _safe_write(target, member.name, handle.read())
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
            raise BatchSourceError(f"cannot read archive {archive}: {exc}") from exc
        done_marker.touch()
    return [
        (str(p), str(p.relative_to(target)))
        for p in sorted(target.rglob("*"))
        if p.is_file() and p != done_marker
    ]


def _safe_write(root: Path, name: str, data: bytes) -> None:
    """Write an archive member under ``root``; absolute paths and ``..`` are neutralised."""
    parts = [p for p in Path(name).parts if p not in ("", ".", "..", "/") and not p.endswith(":")]
    if not parts:
        return
    dest = root.joinpath(*parts)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)


def _read_list(list_file: Path) -> list[tuple[str, str]]:
    try:
        lines = list_file.read_text(encoding="utf-8").splitlines()
    except (UnicodeDecodeError, OSError) as exc:
        raise BatchSourceError(
            f"{list_file} is neither an archive nor a list file of paths: {exc}"
        ) from exc
    out = []
    for line in lines:
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        path = Path(entry)
        if not path.is_absolute():
            path = list_file.parent / path
        out.append((str(path), entry))
    return out


def scan(entries: list[tuple[str, str]]) -> tuple[list[SourceFile], int]:
    """Hash and count pages of every file (no decoding). Files with identical content are
    kept once. Unreadable/corrupt files count as one page (their error row)."""
    seen: set[str] = set()
    files: list[SourceFile] = []
    duplicates = 0
    for path, display in entries:
        try:
            data = Path(path).read_bytes()
        except OSError:
            data = b""
        digest = content_hash(data) if data else content_hash(path.encode())
        if digest in seen:
            duplicates += 1
            continue
        seen.add(digest)
        try:
            pages = count_pages(data)
            image = pages == 1 and detect_type(data) is not DocType.PDF
        except OcrError:
            pages, image = 1, False
        files.append(SourceFile(path, display, digest, max(pages, 1), image))
    return files, duplicates
