"""The backup archive: a tar.gz holding ``manifest.json`` and one JSON-lines file per
table (``database/<table>.jsonl``; ``warehouse/<table>.tsv``, ClickHouse's lossless
TabSeparated). The manifest records the
format, versions, the Database's schema version, every table with its columns and row
count, and the SHA-256 of every data file; `read_archive` refuses anything else."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

FORMAT = "armillary-backup"
FORMAT_VERSION = 1
_MEMBER = re.compile(r"^(database/[A-Za-z_]\w{0,127}\.jsonl|warehouse/[A-Za-z_]\w{0,127}\.tsv)$")


class BackupError(Exception):
    """The archive cannot be used (corrupt, not a backup, too new) or the target refuses."""


def package_version() -> str:
    try:
        return metadata.version("armillary")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class Manifest:
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`database` / `warehouse` → {backend facts, "tables": {name: {...}}}."""
    created_at: float = field(default_factory=time.time)
    armillary_version: str = field(default_factory=package_version)
    files: dict[str, str] = field(default_factory=dict)
    """member name → SHA-256 hex of its bytes."""

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION,
                "created_at": self.created_at, "armillary_version": self.armillary_version,
                "parts": self.parts, "files": self.files}

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BackupError("not an Armillary backup (manifest.json has no "
                              f"format {FORMAT!r})")
        if data.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"backup format version {data.get('format_version')!r} is not "
                              f"supported (this version reads {FORMAT_VERSION})")
        try:
            return cls(parts=dict(data["parts"]), created_at=float(data["created_at"]),
                       armillary_version=str(data["armillary_version"]),
                       files=dict(data["files"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupError(f"corrupt manifest: {exc!r}") from exc


class ArchiveWriter:
    """Data files are added first; `close` writes the manifest with their checksums."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tar = tarfile.open(path, "w:gz")  # noqa: SIM115 - closed in close()
        self.manifest = Manifest()

    def add(self, name: str, data: bytes) -> None:
        if not _MEMBER.match(name):
            raise BackupError(f"bad member name {name!r}")
        self.manifest.files[name] = hashlib.sha256(data).hexdigest()
        self._add(name, data)

    def _add(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = int(self.manifest.created_at)
        info.mode = 0o600
        self._tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        manifest = json.dumps(self.manifest.to_json(), indent=2, sort_keys=True)
        self._add("manifest.json", manifest.encode())
        self._tar.close()

    def abort(self) -> None:
        self._tar.close()
        self.path.unlink(missing_ok=True)


class ArchiveReader:
    """An archive checked whole before anything is restored: a readable gzip tar, a
    manifest of this format, exactly the files it lists, each with its checksum."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, bytes] = {}
        try:
            with tarfile.open(path, "r:gz") as tar:
                for member in tar.getmembers():
                    if not member.isfile():
                        raise BackupError(f"unexpected entry {member.name!r} in the archive")
                    if member.name != "manifest.json" and not _MEMBER.match(member.name):
                        raise BackupError(f"unexpected file {member.name!r} in the archive")
                    handle = tar.extractfile(member)
                    assert handle is not None
                    self._data[member.name] = handle.read()
        except FileNotFoundError:
            raise BackupError(f"no such file: {path}") from None
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BackupError(f"{path} is not a readable tar.gz archive ({exc})") from exc
        if "manifest.json" not in self._data:
            raise BackupError(f"{path} has no manifest.json: not an Armillary backup")
        try:
            raw = json.loads(self._data.pop("manifest.json"))
        except ValueError as exc:
            raise BackupError(f"corrupt manifest.json: {exc}") from exc
        self.manifest = Manifest.from_json(raw)
        if set(self._data) != set(self.manifest.files):
            missing = sorted(set(self.manifest.files) - set(self._data))
            extra = sorted(set(self._data) - set(self.manifest.files))
            raise BackupError(f"archive files differ from the manifest (missing {missing}, "
                              f"not listed {extra})")
        for name, digest in self.manifest.files.items():
            if hashlib.sha256(self._data[name]).hexdigest() != digest:
                raise BackupError(f"{name}: checksum mismatch (corrupt archive)")

    def read(self, name: str) -> bytes:
        return self._data[name]
