"""``upload.url_lifetime``: does a presigned URL live long enough to be used? Judged against what the canary
measured: the time from asking the endpoint for a URL to sending the PUT, and the clocks (this machine's against
S3's ``Date``, the function's ``X-Amz-Date`` against both). Too long is ``presign.url``'s to judge (a bearer risk).

S3 accepts a presigned URL from its ``X-Amz-Date`` (15 minutes earlier at most: a later date is 403 "Request is
not yet valid") until ``X-Amz-Date`` + ``X-Amz-Expires``, by S3's own clock
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html); a header-signed request more than
15 minutes off S3's clock is 403 ``RequestTimeTooSkewed``
(https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). Pure: judges gathered evidence only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

from services.aws_model.s3errors import MAX_CLOCK_SKEW, is_url_expired, parse_s3_error
from services.checks.evidence import Canary, CanaryTiming, Evidence
from services.checks.findings import Tally, finding, presigned_url
from services.checks.model import Check, Finding, Impact, Status
from services.checks.scrub import evidence_items

UPLOAD_URL_LIFETIME = "upload.url_lifetime"
#: a URL should outlive the measured ask-to-PUT delay this many times over (a browser preflights first, users retry)
MARGIN = 10
SKEW_WARN_S = 5.0  # past this, clocks are worth fixing (NTP keeps them within milliseconds)
MAX_SKEW_S = MAX_CLOCK_SKEW.total_seconds()  # S3's tolerance: RequestTimeTooSkewed, "Request is not yet valid"


def _lifetime_fix(ev: Evidence) -> str:
    function = ev.target.lambda_function or "<function>"
    return (
        "Let URLs live minutes, longer than the slowest upload takes to start: ExpiresIn=300 in the function's "
        "generate_presigned_url (the shipped function: URL_EXPIRES_SECONDS=300). update-function-configuration "
        "replaces every variable, so pass them all:\n"
        f"aws lambda get-function-configuration --function-name {function} --query Environment\n"
        f"aws lambda update-function-configuration --function-name {function} --environment "
        "'Variables={BUCKET_NAME=<bucket>,BUCKET_REGION=<region>,URL_EXPIRES_SECONDS=300}'"
    )


def _signed_at(url: str) -> tuple[int | None, datetime | None]:
    query = parse_qs(urlsplit(url).query)
    raw_expires = (query.get("X-Amz-Expires") or [""])[0]
    raw_date = (query.get("X-Amz-Date") or [""])[0]
    try:
        signed = datetime.strptime(raw_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        signed = None
    return (int(raw_expires) if raw_expires.isdigit() else None), signed


def _s3_date(canary: Canary) -> datetime | None:
    raw = canary.put.header("Date") if canary.put is not None else None
    try:
        return parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError):
        return None


def _judge_lifetime(
    expires: int, timing: CanaryTiming, canary: Canary, age_by_s3: float | None, ev: Evidence, tally: Tally
) -> None:
    delay = timing.asked_to_put_s
    expired = canary.put is not None and is_url_expired(parse_s3_error(canary.put.body))
    answered = f"the endpoint took {canary.presign.ms / 1000:.1f} s to answer"
    aged = f"; by S3's clock the URL was {age_by_s3:.0f} s old at the PUT" if age_by_s3 is not None else ""
    if expired or expires <= delay:
        said = ': S3 answered 403 AccessDenied "Request has expired"' if expired else ""
        tally.fail(
            "lifetime.too_short",
            f"URLs live {expires} s (X-Amz-Expires={expires}), less than the measured delay: the canary's PUT went "
            f"{delay:.1f} s after it asked for its URL ({answered}{aged}){said}. Every upload fails so, a browser's "
            "(preflights first) sooner still.",
        )
        tally.fix(_lifetime_fix(ev))
    elif expires < MARGIN * delay:
        tally.warn(
            "lifetime.thin_margin",
            f"URLs live {expires} s, only {expires / delay:.1f}× the canary's {delay:.1f} s from asking to PUT "
            f"({answered}): a browser's preflight, a slow network or one retry outlives them.",
        )
        tally.fix(_lifetime_fix(ev))
    else:
        tally.note(f"URLs live {expires} s; the canary's PUT went {delay:.2f} s after it asked ({answered}{aged}).")


def _judge_clocks(
    canary: Canary, timing: CanaryTiming, signed_at: datetime | None, s3_date: datetime | None, tally: Tally
) -> None:
    if s3_date is None:
        tally.note("S3's answer to the PUT had no Date header: the clocks were not compared.")
        return
    put_s = (canary.put.ms if canary.put is not None else 0.0) / 1000
    # S3's Date has whole seconds: its clock read somewhere in [Date, Date + 1 s) while answering
    skew = (timing.put_answered_at - s3_date).total_seconds() - 0.5
    slack = 0.5 + put_s
    ahead = "ahead of" if skew > 0 else "behind"
    if abs(skew) > MAX_SKEW_S:
        tally.fail(
            "clock.too_skewed",
            f"This machine's clock is {abs(skew):.0f} s {ahead} S3's (its Date header), past S3's 15 minutes: S3 "
            "answers every request this machine signs 403 RequestTimeTooSkewed.",
        )
        tally.fix("Sync this machine's clock with NTP (e.g. timedatectl set-ntp true).")
    elif abs(skew) - slack > SKEW_WARN_S:
        tally.warn(
            "clock.skewed",
            f"This machine's clock is about {abs(skew):.0f} s {ahead} S3's (its Date header): times the console "
            "reports are off by that; at 15 minutes S3 refuses its requests (RequestTimeTooSkewed).",
        )
        tally.fix("Sync this machine's clock with NTP (e.g. timedatectl set-ntp true).")
    else:
        tally.note(f"This machine's clock agrees with S3's Date within {max(abs(skew), slack):.1f} s.")
    if signed_at is None:
        return
    # when the function signed, by S3's clock: while the presign call was in flight, this machine's time minus skew
    presign_s = canary.presign.ms / 1000
    signing = (timing.presign_answered_at - s3_date).total_seconds() - presign_s / 2 - skew
    offset = (signed_at - s3_date).total_seconds() + 0.5 - signing  # > 0: the function's clock is ahead
    function_slack = slack + presign_s / 2 + 0.5
    if offset > MAX_SKEW_S:
        tally.fail(
            "clock.function_too_far_ahead",
            f"The function's clock is {offset:.0f} s ahead of S3's (its URLs' X-Amz-Date against S3's Date): S3 "
            'refuses such a URL with 403 AccessDenied "Request is not yet valid" until its date comes.',
        )
        tally.fix("Sync the clock of the machine the function runs on (Lambda's own clock is AWS's: NTP elsewhere).")
    elif abs(offset) - function_slack > SKEW_WARN_S:
        side = "ahead of" if offset > 0 else "behind"
        effect = "" if offset > 0 else f": every URL is born {-offset:.0f} s old, and lives that much less"
        tally.warn(
            "clock.function_skewed",
            f"The function's clock is about {abs(offset):.0f} s {side} S3's (its URLs' X-Amz-Date against S3's "
            f"Date){effect}.",
        )
        tally.fix("Sync the clock of the machine the function runs on (Lambda's own clock is AWS's: NTP elsewhere).")


def judge_url_lifetime(ev: Evidence) -> Finding:
    """A URL outlives the canary's measured ask-to-PUT delay with room to spare, on clocks S3 agrees with."""
    cid = UPLOAD_URL_LIFETIME
    canary = ev.canary
    url = presigned_url(canary.presign) if canary is not None else None
    if canary is None or url is None or canary.put is None or canary.timing is None:
        return finding(
            cid,
            Status.UNKNOWN,
            "No canary PUT to measure a URL's lifetime against",
            "The canary got no presigned URL, or made no PUT with it; see presign.contract and upload.roundtrip.",
            codes=("lifetime.not_measured",),
        )
    expires, signed_at = _signed_at(url)
    evidence = evidence_items(canary.presign, canary.put)
    if expires is None:
        return finding(
            cid,
            Status.UNKNOWN,
            "The canary's URL has no X-Amz-Expires to judge",
            "presign.url judges a URL without one.",
            "",
            evidence,
            codes=("lifetime.not_measured",),
        )
    s3_date = _s3_date(canary)
    age = (s3_date - signed_at).total_seconds() if s3_date is not None and signed_at is not None else None
    tally = Tally()
    _judge_lifetime(expires, canary.timing, canary, age, ev, tally)
    _judge_clocks(canary, canary.timing, signed_at, s3_date, tally)
    ok = f"URLs live {expires} s, well past the {canary.timing.asked_to_put_s:.1f} s the canary needed; clocks agree"
    return tally.finding(cid, ok, evidence, ok_code="lifetime.ok")


CHECKS: tuple[Check, ...] = (
    Check(
        UPLOAD_URL_LIFETIME,
        "Presigned URLs live long enough to be used",
        frozenset({"canary"}),
        judge_url_lifetime,
        impact=Impact.UPLOAD,
        description=(
            f"canary: `X-Amz-Expires` against the measured delay from asking for a URL to the PUT (fail below it, "
            f"warn below {MARGIN}×); this machine's clock against S3's `Date`, the function's `X-Amz-Date` against "
            "both (warn past 5 s, fail past S3's 15 minutes)"
        ),
        permissions=(),
        codes=(
            "lifetime.not_measured",
            "lifetime.too_short",
            "lifetime.thin_margin",
            "clock.too_skewed",
            "clock.skewed",
            "clock.function_too_far_ahead",
            "clock.function_skewed",
            "lifetime.ok",
        ),
        docs="https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html",
        depends_on=("presign.contract",),
    ),
)
