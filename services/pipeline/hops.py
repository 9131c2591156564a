"""The pipeline's hops, named once: the places a file passes (the diagram's nodes), the upload's steps (each at
one place), and the checks' hops (each looking at some places). Everything that names a hop derives from here:
the upload's step names and titles, the report's sections, the diagram's nodes and which checks colour them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    """A place the file passes, drawn as a node of the pipeline diagram."""

    id: str
    label: str  # for the diagram (``\\n`` breaks the line in Graphviz)


@dataclass(frozen=True)
class UploadStep:
    """One step of an upload (``Step.name``), at one place."""

    name: str
    place: str
    title: str  # what the step is, in full (the CLI and the page say "<title> failed")
    short: str  # for a table cell


@dataclass(frozen=True)
class CheckHop:
    """The hop a check id starts with (``bucket.cors`` -> ``bucket``), and the places its findings speak of."""

    id: str
    title: str  # the report's section title
    places: tuple[str, ...]


#: in pipeline order
PLACES: tuple[Place, ...] = (
    Place("app", "Web app / console"),
    Place("presign", "API Gateway + Lambda\\n(presign)"),
    Place("put", "S3 bucket\\n(PUT)"),
    Place("cdn_read", "CloudFront\\n(read)"),
)
#: in the order an upload takes them (``presign_retry`` only after an expired URL)
UPLOAD_STEPS: tuple[UploadStep, ...] = (
    UploadStep("validate", "app", "file check (before anything is sent)", "file check"),
    UploadStep(
        "presign_preflight",
        "presign",
        "browser preflight to the presign endpoint (OPTIONS from the app origin)",
        "presign preflight (CORS)",
    ),
    UploadStep("presign", "presign", "presign endpoint (API Gateway + Lambda)", "presign"),
    UploadStep(
        "presign_retry",
        "presign",
        "presign endpoint again, for a fresh URL (the first had expired)",
        "presign (fresh URL)",
    ),
    UploadStep(
        "put_preflight",
        "put",
        "browser preflight to the presigned URL (OPTIONS from the app origin)",
        "S3 preflight (CORS)",
    ),
    UploadStep("put", "put", "S3 upload (PUT to the presigned URL)", "S3 PUT"),
    UploadStep("cdn_read", "cdn_read", "CDN read-back (CloudFront)", "CDN read-back"),
)
#: in pipeline order: endpoint, role, bucket, upload, CDN (the canary upload is the web app's own round trip)
CHECK_HOPS: tuple[CheckHop, ...] = (
    CheckHop("presign", "Presign endpoint (API Gateway + Lambda)", ("presign",)),
    CheckHop("lambda", "Lambda execution role", ("presign",)),
    CheckHop("bucket", "S3 bucket", ("put",)),
    CheckHop("upload", "Upload (canary)", ("app", "put")),
    CheckHop("cdn", "CDN (CloudFront)", ("cdn_read",)),
)

PLACE_IDS: tuple[str, ...] = tuple(place.id for place in PLACES)
STEP_TITLES: Mapping[str, str] = {step.name: step.title for step in UPLOAD_STEPS}
STEP_SHORT: Mapping[str, str] = {step.name: step.short for step in UPLOAD_STEPS}
STEP_PLACES: Mapping[str, str] = {step.name: step.place for step in UPLOAD_STEPS}
CHECK_HOP_TITLES: tuple[tuple[str, str], ...] = tuple((hop.id, hop.title) for hop in CHECK_HOPS)
CHECK_HOP_PLACES: Mapping[str, tuple[str, ...]] = {hop.id: hop.places for hop in CHECK_HOPS}


def step_title(name: str) -> str:
    return STEP_TITLES.get(name, name)
