"""Invalidate the relabelled objects' CDN paths in batches CloudFront accepts, and say what it costs.

CloudFront's limits (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/InvalidationLimits.html):
invalidations of individual files may have up to 3,000 paths in progress per distribution at one time (one request
of 3,000, or any split of them); wildcard paths, up to 15 in progress, counted apart. Past that CloudFront answers
TooManyInvalidationsInProgress, so one full batch is sent at a time and the next waits for it.
Price (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/PayingForInvalidation.html): the first
1,000 paths a month are free, then $0.005 a path; a wildcard path counts as one path, whatever it matches.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.core.transport import Backoff
from services.pipeline.browse import invalidation_path
from services.pipeline.repair.scan import error_code

MAX_PATHS_IN_PROGRESS = 3_000
MAX_WILDCARDS_IN_PROGRESS = 15
FREE_PATHS_PER_MONTH = 1_000
USD_PER_PATH = 0.005
#: waits while CloudFront has too many invalidations in progress: 2 s doubling to 60 s, 10 tries (~7 minutes)
IN_PROGRESS_BACKOFF = Backoff(attempts=10, base=2.0, cap=60.0)


def cost_note(paths: int) -> str:
    """What ``paths`` invalidation paths cost, in words."""
    if paths == 0:
        return "nothing to invalidate"
    worst = paths * USD_PER_PATH
    return (
        f"{paths:,} path(s): free within the account's first {FREE_PATHS_PER_MONTH:,} invalidation paths this month, "
        f"then ${USD_PER_PATH} each (at most ${worst:,.2f} if this month's free paths are used up)"
    )


def wildcard_path(prefix: str) -> str:
    """One path covering every object under ``prefix`` (it counts as one path, and drops unchanged ones too)."""
    return invalidation_path(prefix) + "*" if prefix else "/*"


@dataclass
class Invalidator:
    """Collects changed paths and sends them in batches of at most 3,000; ``flush`` sends what is left."""

    cloudfront: Any
    distribution_id: str | None
    backoff: Backoff = IN_PROGRESS_BACKOFF
    batch_size: int = MAX_PATHS_IN_PROGRESS
    buffered: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent_paths: int = 0
    wildcard: str | None = None  # one wildcard path instead of each object's
    changed: int = 0

    def add(self, key_or_path: str, *, is_path: bool = False) -> None:
        self.changed += 1
        if self.wildcard is not None:
            return
        self.buffered.append(key_or_path if is_path else invalidation_path(key_or_path))
        if len(self.buffered) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Send the buffered paths (or the wildcard) as one invalidation; a failure is reported, not raised."""
        if self.wildcard is not None:
            paths = [self.wildcard] if self.changed and not self.sent_paths else []
        else:
            paths = list(self.buffered)
        if not paths or self.cloudfront is None or not self.distribution_id:
            return
        batch = {"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": f"repair-{uuid.uuid4()}"}
        for retry in range(self.backoff.attempts):
            try:
                reply = self.cloudfront.create_invalidation(
                    DistributionId=self.distribution_id, InvalidationBatch=batch
                )
                break
            except ClientError as err:
                if error_code(err) == "TooManyInvalidationsInProgress" and retry < self.backoff.attempts - 1:
                    self.backoff.sleep(self.backoff.delay(retry))
                    continue
                self.errors.append(f"CreateInvalidation of {len(paths)} path(s) failed: {error_code(err)}")
                return
            except BotoCoreError as err:
                self.errors.append(
                    f"CreateInvalidation of {len(paths)} path(s) could not reach CloudFront ({type(err).__name__})"
                )
                return
        found = reply.get("Invalidation", {})
        self.requests.append({"id": found.get("Id"), "status": found.get("Status"), "paths": len(paths)})
        self.sent_paths += len(paths)
        self.buffered.clear()

    def summary(self) -> dict[str, Any]:
        """The ``invalidation`` member of the report."""
        if not self.distribution_id:
            note = (
                "PIPELINE_DISTRIBUTION_ID is not set: nothing was invalidated; the CDN serves its cached copies, "
                "with the old Content-Type, until they expire"
            )
        else:
            note = cost_note(self.sent_paths)
        return {
            "distribution_id": self.distribution_id,
            "paths": self.sent_paths,
            "wildcard": self.wildcard,
            "requests": list(self.requests),
            "pending": len(self.buffered),
            "errors": list(self.errors),
            "note": note,
        }
