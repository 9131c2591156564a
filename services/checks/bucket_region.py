"""The bucket's own region (``s3:GetBucketLocation``) as the region ``presign.url`` judges the URL against.

The URL's host region and its credential scope's region are compared with one region, in one place
(``presign.url``'s ``url.region_mismatch`` and ``url.scope_region_mismatch``). This module only decides which
region that is: the bucket's, as S3 says it, when the console may read it; else the configured one (and the
finding says it could not look). A configured region other than the bucket's is named: the console's upload
allowlist would refuse the function's correct URLs.
"""

from __future__ import annotations

from dataclasses import replace

from services.checks.denied import denied_detail, denied_title, grant_fix, is_denied
from services.checks.evidence import Evidence
from services.checks.findings import Tally
from services.checks.model import ReadState

CALL = "s3:GetBucketLocation"
WHAT = "the bucket's region"
#: this module's cause codes (presign.url's CHECKS entry lists them)
CODES = ("url.bucket_region_unknown", "url.configured_region_wrong")


def with_bucket_region(ev: Evidence, tally: Tally) -> Evidence:
    """``ev`` with the target's region replaced by the bucket's (GetBucketLocation), saying so in ``tally``;
    ``ev`` unchanged when the location was not gathered or could not be read (``unknown`` for that part)."""
    read = ev.bucket_location
    bucket, configured = ev.target.bucket, ev.target.region
    if read is None:
        return ev
    compared_with = f"the configured region {configured}" if configured else "no configured region"
    if is_denied(read):
        resource = f"arn:aws:s3:::{bucket}"
        also = f"The URL's regions were compared with {compared_with} only."
        tally.unknown(
            "url.bucket_region_unknown", f"{denied_title(read, WHAT)}. {denied_detail(read, resource, also=also)}"
        )
        tally.fix(grant_fix(read, resource))
        return ev
    if read.state is not ReadState.OK or not isinstance(read.value, str):
        why = f"{read.code or read.state.value}" + (f": {read.message}" if read.message else "")
        tally.unknown(
            "url.bucket_region_unknown",
            f"The bucket's region could not be read ({CALL} → {why}): the URL's regions were compared with "
            f"{compared_with} only.",
        )
        return ev
    actual = read.value
    if configured and configured != actual:
        tally.warn(
            "url.configured_region_wrong",
            f"The console is configured for region {configured}, but {CALL} says bucket {bucket!r} is in {actual}: "
            f"the URL is judged against {actual}, and the console's own uploads refuse URLs for the bucket's region.",
        )
        tally.fix(f"Set the console's region to the bucket's: AWS_REGION={actual} (or the profile's region).")
    else:
        tally.note(f"{CALL}: bucket {bucket!r} is in {actual}.")
    return replace(ev, target=replace(ev.target, region=actual))
