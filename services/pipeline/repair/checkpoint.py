"""Where an applying repair stands, on disk, so a run stopped (stop button, Ctrl-C, crash) goes on from there.

Two files per bucket, prefix and endpoint, in the user's data directory:

- ``<name>.json``: the last key such that it and every key before it (in S3's order) is done, the run's options
  and its counts; written atomically (a temporary file renamed over it) every few seconds.
- ``<name>.paths``: a write-ahead journal of CDN paths: a path is appended before its object is copied and stays
  until its invalidation was sent, so an object copied just before a crash is still invalidated on the next run
  (the next run finds it already right and would not otherwise know it changed).

A complete run deletes both: running again rescans and finds nothing to fix, because the objects are fixed.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APP_DIR = "image-pipeline-console"


def default_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's data directory for the console (XDG_DATA_HOME, else ~/.local/share), ``repair`` inside it."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR / "repair"


def checkpoint_name(endpoint: str, bucket: str, prefix: str) -> str:
    """A file name per (endpoint, bucket, prefix): two sandboxes' buckets of one name are different buckets."""
    digest = hashlib.sha256(f"{endpoint}\0{bucket}\0{prefix}".encode()).hexdigest()[:16]
    safe = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in bucket)[:63]
    return f"{safe}-{digest}"


@dataclass
class Checkpoint:
    directory: Path
    name: str
    _open: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def state_file(self) -> Path:
        return self.directory / f"{self.name}.json"

    @property
    def journal_file(self) -> Path:
        return self.directory / f"{self.name}.paths"

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None (none saved, or unreadable: then the run starts over, which is safe)."""
        try:
            saved = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return saved if isinstance(saved, dict) else None

    def pending_paths(self) -> list[str]:
        """CDN paths noted before a copy and not known to be invalidated (from a run that stopped)."""
        try:
            lines = self.journal_file.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        return list(dict.fromkeys(line for line in lines if line.startswith("/")))

    def save(self, after: str | None, options: dict[str, Any], counts: dict[str, Any], buffered: Iterable[str]) -> None:
        """Record progress; the journal is rewritten to the paths still owed an invalidation."""
        self.directory.mkdir(parents=True, exist_ok=True)
        document = {"after": after, "options": options, "counts": counts}
        temporary = self.state_file.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(document), encoding="utf-8")
        os.replace(temporary, self.state_file)
        self.compact(buffered)

    def note(self, path: str) -> None:
        """Before a copy: its CDN path goes to the journal (called from worker threads)."""
        with self._lock:
            self._open.add(path)
            self.directory.mkdir(parents=True, exist_ok=True)
            with self.journal_file.open("a", encoding="utf-8") as journal:
                journal.write(path + "\n")

    def settle(self, path: str) -> None:
        """After a copy's outcome is known (the invalidator holds the path from now on, if it changed)."""
        with self._lock:
            self._open.discard(path)

    def compact(self, buffered: Iterable[str]) -> None:
        """Rewrite the journal to the copies in flight and the paths not yet invalidated."""
        with self._lock:
            keep = sorted(self._open | set(buffered))
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary = self.journal_file.with_suffix(".paths.tmp")
            temporary.write_text("".join(path + "\n" for path in keep), encoding="utf-8")
            os.replace(temporary, self.journal_file)

    def remove(self) -> None:
        for path in (self.state_file, self.journal_file):
            path.unlink(missing_ok=True)
