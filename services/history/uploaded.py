"""The names objects were uploaded with, for Browse (the page and ``browse``): found in the recorded uploads.

A history that cannot be read never breaks Browse's listing: beside the keys it is one warning sentence. Finding
an object by its name needs the history, so there it is the error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.core.errors import HistoryError
from services.core.settings import Settings
from services.history.model import UploadRecord
from services.history.record import profile_of
from services.history.store import open_store
from services.pipeline.browse import Upload

NOT_READ = "the names the objects were uploaded with are not shown: "


@dataclass(frozen=True)
class UploadedNames:
    """key -> the newest recorded upload that stored it (this profile's), or why none could be read."""

    by_key: Mapping[str, UploadRecord] = field(default_factory=dict)
    warning: str | None = None

    def name_of(self, key: str) -> str | None:
        record = self.by_key.get(key)
        return None if record is None else record.file_name

    def names(self) -> dict[str, str]:
        return {key: record.file_name for key, record in self.by_key.items()}


def uploaded_names(settings: Settings, keys: Sequence[str], env: Mapping[str, str] | None = None) -> UploadedNames:
    """The uploaded names of these keys (a page of Browse: one query); a history error is the warning."""
    if not keys:
        return UploadedNames()
    try:
        return UploadedNames(open_store(env).uploads_of_keys(profile_of(settings), keys))
    except HistoryError as err:
        return UploadedNames(warning=NOT_READ + str(err))


def find_by_name(settings: Settings, name: str, limit: int = 20, env: Mapping[str, str] | None = None) -> list[Upload]:
    """This profile's uploads that stored an object under a file name containing ``name``, newest first, one per
    key (an object uploaded twice is listed once, by its newest name). Raises HistoryError."""
    found: dict[str, Upload] = {}
    for record in open_store(env).uploads(limit=limit, name=name, profile=profile_of(settings), stored=True):
        if record.key is not None:
            found.setdefault(record.key, Upload(record.file_name, record.key, record.uploaded_at, record.by))
    return list(found.values())
