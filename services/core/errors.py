"""The console's own error hierarchy. AWS and HTTP failures are translated into these at the
service boundary, so pages and the CLI can say what happened in plain words."""

from __future__ import annotations


class ConsoleError(Exception):
    """Base of every error the console reports to a person."""


class ConfigError(ConsoleError):
    """The console's configuration is incomplete or invalid."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class InvalidImage(ConsoleError):
    """A file was refused before anything was sent: not an allowed image, empty, truncated, too big."""


class SandboxError(ConsoleError):
    """The embedded sandbox could not start or answer."""


class PipelineError(ConsoleError):
    """A hop of the pipeline answered with an error or could not be reached.

    Carries what a person needs to find the cause: which hop, the HTTP status, the AWS error code,
    and the bucket and key involved where known.
    """

    def __init__(
        self,
        message: str,
        *,
        hop: str,
        http_status: int | None = None,
        code: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
        cause: str | None = None,
    ) -> None:
        super().__init__(message)
        self.hop = hop
        self.http_status = http_status
        self.code = code
        self.bucket = bucket
        self.key = key
        self.cause = cause


class HistoryError(ConsoleError):
    """The run and upload history could not be opened, read or written (a check or an upload still stands)."""
