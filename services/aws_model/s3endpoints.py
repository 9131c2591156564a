"""Is this URL the configured bucket's S3 endpoint? One answer, for the upload's allowlist, the ``presign.url``
check, browse and the sandbox.

S3 is addressed two ways (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html):
virtual-hosted (``<bucket>.s3.<region>.amazonaws.com/<key>``) and path-style (``s3.<region>.amazonaws.com/
<bucket>/<key>``), each also on the dual-stack names (``s3.dualstack.<region>...``, virtual-hosted only here:
botocore signs path-style on the plain name), on Transfer Acceleration (``<bucket>.s3-accelerate.amazonaws.com``,
virtual-hosted only, not in China) and on the legacy global name ``s3.amazonaws.com`` (us-east-1 only). Each
partition has its own DNS suffix (``amazonaws.com.cn`` for cn-*). An explicitly configured endpoint
(``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``: LocalStack, MinIO, moto, the sandbox) is addressed path-style
(``http://127.0.0.1:4566/<bucket>/<key>``) or virtual-hosted under its name; a local one also as
``<bucket>.s3.<region>.localhost`` (RFC 6761: resolves to loopback), as the sandbox signs.

Pure: no I/O, nothing of the project imported.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from services.aws_model import partitions

#: an AWS region name: us-east-1, ap-northeast-2, us-gov-west-1, cn-north-1, eu-central-2 ...
REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
GLOBAL_REGION = "us-east-1"  # the only region the legacy global endpoint serves directly
LOCAL_NAMES = ("localhost",)

_REGIONAL = re.compile(r"s3\.(?P<dualstack>dualstack\.)?(?P<region>[a-z0-9-]+)\.(?P<suffix>amazonaws\.com(?:\.cn)?)")
_VIRTUAL = re.compile(r"(?P<bucket>[a-z0-9.-]+)\.(?P<rest>s3[.-].+)")
_LOCAL_VIRTUAL = re.compile(r"(?P<bucket>[a-z0-9.-]+)\.s3(?:[.-](?P<region>[a-z0-9-]+))?\.localhost")
_LOCAL_PATH = re.compile(r"s3(?:[.-](?P<region>[a-z0-9-]+))?\.localhost")  # s3.<region>.localhost, s3.localhost
_LEGACY_DASH = re.compile(r"s3-(?P<region>[a-z0-9-]+)\.amazonaws\.com")  # s3-external-1, s3-eu-west-1 (old names)

#: why a URL is not the bucket's endpoint (``EndpointMatch.reason``)
NOT_S3 = "not-s3"  # no S3 endpoint at all (nor the configured one)
OTHER_BUCKET = "other-bucket"
OTHER_REGION = "other-region"
GLOBAL_OUTSIDE_US_EAST_1 = "global-endpoint"  # s3.amazonaws.com for a bucket in another region: 307 redirects
PARTITION = "partition"  # a region's name under another partition's DNS suffix (or acceleration in China)
LEGACY_NAME = "legacy-name"  # s3-<region>.amazonaws.com, s3-external-1: names botocore never signs for
DUALSTACK_PATH = "dualstack-path"
INSECURE = "insecure"  # an AWS name over http or off port 443; the configured endpoint on another scheme


def dns_suffix(region: str | None) -> str:
    """The S3 DNS suffix of the region's partition."""
    return partitions.s3_dns_suffix(region)


def is_local_host(host: str) -> bool:
    """Loopback IP or a ``localhost`` name (``*.localhost`` resolves to loopback, RFC 6761)."""
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


@dataclass(frozen=True)
class Endpoint:
    """An explicitly configured S3 endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL), e.g. the sandbox's."""

    scheme: str
    host: str
    port: int

    @property
    def local(self) -> bool:
        return is_local_host(self.host)

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    @classmethod
    def parse(cls, url: str | None) -> Endpoint | None:
        if not url:
            return None
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        return cls(parts.scheme, parts.hostname.lower(), port or default_port(parts.scheme))

    def base(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True)
class Addressed:
    """What an S3 URL names, whoever's bucket it is.

    ``kind``: ``regional``, ``dualstack``, ``global``, ``accelerate``, ``legacy`` (AWS names), ``endpoint``
    (the configured endpoint's own name), ``local`` (``<bucket>.s3.<region>.localhost``). ``region`` is the
    region the host names (None for global, accelerate and the configured endpoint); ``bucket`` is the one the
    host (virtual-hosted) or the path's first segment (path-style) names, None when the path names none.
    """

    style: str  # "virtual" | "path"
    kind: str
    bucket: str | None
    region: str | None = None
    suffix: str | None = None

    @property
    def aws(self) -> bool:
        return self.kind not in ("endpoint", "local")


@dataclass(frozen=True)
class EndpointMatch:
    """The verdict: ``style`` ("virtual"/"path") when the URL is the bucket's endpoint, else None and ``reason``."""

    style: str | None
    addressed: Addressed | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.style is not None


def _path_bucket(path: str) -> str | None:
    first = path.lstrip("/").split("/", 1)[0] if path.startswith("/") else ""
    return first or None


def _aws_name(host: str) -> tuple[str, str, str | None, str | None, str | None] | None:
    """(style, kind, host's bucket, region, suffix) of an AWS S3 host name, any bucket, any region."""
    regional = _REGIONAL.fullmatch(host)
    if regional:
        kind = "dualstack" if regional["dualstack"] else "regional"
        return "path", kind, None, regional["region"], regional["suffix"]
    if host == "s3.amazonaws.com":
        return "path", "global", None, None, "amazonaws.com"
    legacy = _LEGACY_DASH.fullmatch(host)
    if legacy and legacy["region"] != "accelerate":
        return "path", "legacy", None, legacy["region"], "amazonaws.com"
    virtual = _VIRTUAL.fullmatch(host)
    if virtual is None:
        return None
    bucket, rest = virtual["bucket"], virtual["rest"]
    if rest in ("s3-accelerate.amazonaws.com", "s3-accelerate.dualstack.amazonaws.com"):
        return "virtual", "accelerate", bucket, None, "amazonaws.com"
    inner = _aws_name(rest)
    if inner is None or inner[0] != "path":
        return None
    return "virtual", inner[1], bucket, inner[3], inner[4]


def address(host: str, port: int, path: str, endpoint: Endpoint | None = None) -> Addressed | None:
    """Which bucket and region an S3 URL's host and path name, or None when the host is no S3 endpoint (AWS's,
    the configured one, or a local ``*.s3.<region>.localhost``). ``host`` lower-case, without brackets' port."""
    named = _aws_name(host)
    if named is not None:
        style, kind, bucket, region, suffix = named
        return Addressed(style, kind, bucket if style == "virtual" else _path_bucket(path), region, suffix)
    if endpoint is not None and port == endpoint.port:
        if host == endpoint.host:
            return Addressed("path", "endpoint", _path_bucket(path))
        if not endpoint.is_ip and host.endswith("." + endpoint.host):
            return Addressed("virtual", "endpoint", host[: -len(endpoint.host) - 1])
    local_path = _LOCAL_PATH.fullmatch(host)
    if local_path is not None:
        return Addressed("path", "local", _path_bucket(path), local_path["region"])
    local = _LOCAL_VIRTUAL.fullmatch(host)
    if local is not None:
        return Addressed("virtual", "local", local["bucket"], local["region"])
    return None


def _aws_reason(named: Addressed, scheme: str, port: int, region: str | None) -> str | None:
    if named.kind == "legacy":
        return LEGACY_NAME
    if named.kind == "dualstack" and named.style == "path":
        return DUALSTACK_PATH
    if named.kind == "global" and region not in (None, GLOBAL_REGION):
        return GLOBAL_OUTSIDE_US_EAST_1
    if named.kind == "accelerate" and region is not None and partitions.of_region(region) == "aws-cn":
        return PARTITION
    if named.region is not None:
        if not REGION.fullmatch(named.region):
            return NOT_S3
        if region is not None and named.region != region:
            return OTHER_REGION
        if named.suffix != dns_suffix(named.region):
            return PARTITION
    if scheme != "https" or port != 443:
        return INSECURE
    return None


def _endpoint_reason(
    named: Addressed, scheme: str, port: int, region: str | None, endpoint: Endpoint | None
) -> str | None:
    if endpoint is None or port != endpoint.port or (named.kind == "local" and not endpoint.local):
        return NOT_S3
    if named.kind == "local" and named.region is None:
        # the global name's local shape (<bucket>.s3.localhost): us-east-1's endpoint, as s3.amazonaws.com is
        return GLOBAL_OUTSIDE_US_EAST_1 if region not in (None, GLOBAL_REGION) else _scheme_reason(scheme, endpoint)
    if named.kind == "local" and (region is None or named.region != region):
        return OTHER_REGION if named.region and region else NOT_S3
    return _scheme_reason(scheme, endpoint)


def _scheme_reason(scheme: str, endpoint: Endpoint) -> str | None:
    if scheme != endpoint.scheme or (scheme == "http" and not endpoint.local):
        return INSECURE
    return None


def match(
    host: str,
    port: int,
    scheme: str,
    path: str,
    *,
    bucket: str,
    region: str | None,
    endpoint: Endpoint | None = None,
) -> EndpointMatch:
    """Is ``scheme://host:port/path`` the bucket's own S3 endpoint? ``region`` None (not configured) accepts any
    region's endpoints, but still only this bucket's. ``host`` lower-case, ``port`` effective (443/80 filled in).

    On AWS's names only https on 443; on the configured endpoint its own scheme and port (plain http only for a
    local one). Path-style URLs name the bucket in the path's first segment.
    """
    region = (region or "").strip().lower() or None
    named = address(host, port, path, endpoint)
    if named is None:
        return EndpointMatch(None, None, NOT_S3)
    if named.bucket != bucket.lower():
        return EndpointMatch(None, named, OTHER_BUCKET)
    reason = (
        _aws_reason(named, scheme, port, region)
        if named.aws
        else _endpoint_reason(named, scheme, port, region, endpoint)
    )
    if reason:
        return EndpointMatch(None, named, reason)
    return EndpointMatch(named.style, named)


def match_url(url: str, *, bucket: str, region: str | None, endpoint: Endpoint | None = None) -> EndpointMatch:
    """``match`` on a whole URL; an unparsable one is NOT_S3."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return EndpointMatch(None, None, NOT_S3)
    host = (parts.hostname or "").lower()
    scheme = parts.scheme.lower()
    return match(
        host, port or default_port(scheme), scheme, parts.path, bucket=bucket, region=region, endpoint=endpoint
    )


def object_key(path: str, style: str, bucket: str) -> str | None:
    """The raw (still percent-encoded) key a URL's path names, for its addressing style; None if none."""
    prefix = "/" if style == "virtual" else f"/{bucket}/"
    return path[len(prefix) :] if path.startswith(prefix) else None


def url_key(url: str, endpoint: Endpoint | None = None) -> str | None:
    """The key (decoded) an S3 object URL's path names, whichever bucket or region its host names; None when the URL
    is no S3 URL or names no key. What a presigned PUT stores under, and the key a client that reads it from the
    URL's path (the seed's web app) uses."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    named = address((parts.hostname or "").lower(), port or default_port(scheme), parts.path, endpoint)
    raw = object_key(parts.path, named.style, named.bucket or "") if named is not None and named.bucket else None
    try:
        return unquote(raw, errors="strict") or None if raw is not None else None
    except UnicodeDecodeError:
        return None


def shapes(bucket: str, region: str | None, endpoint: Endpoint | None = None) -> list[str]:
    """The URL shapes ``match`` accepts, for a person reading why a URL was refused."""
    shown = region or "<region>"
    suffix = dns_suffix(region)
    found = [f"https://{bucket}.s3.{shown}.{suffix}/<key>", f"https://s3.{shown}.{suffix}/{bucket}/<key>"]
    if region in (None, GLOBAL_REGION):
        found.append(f"https://{bucket}.s3.amazonaws.com/<key>")
    if partitions.of_region(region) != "aws-cn":
        found.append(f"https://{bucket}.s3-accelerate.amazonaws.com/<key>")
    found.append(f"https://{bucket}.s3.dualstack.{shown}.{suffix}/<key>")
    if endpoint is not None:
        found.append(f"{endpoint.base()}/{bucket}/<key> (the configured endpoint)")
    return found


# --- the bucket's region, and what S3 answers a request sent to another region's endpoint -------------------

#: GetBucketLocation's LocationConstraint for buckets of the first EU region (created as "EU", still answered so)
_LEGACY_LOCATIONS = {"EU": "eu-west-1"}


def bucket_region(location_constraint: str | None) -> str:
    """The region GetBucketLocation's ``LocationConstraint`` names. S3 answers null (boto3: None; the XML element
    empty) for us-east-1 and "EU" for buckets created as EU in eu-west-1
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html)."""
    value = (location_constraint or "").strip()
    if not value:
        return GLOBAL_REGION
    return _LEGACY_LOCATIONS.get(value, value)


#: S3's texts for a request at the wrong endpoint (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)
PERMANENT_REDIRECT = "PermanentRedirect"
TEMPORARY_REDIRECT = "TemporaryRedirect"
MSG_PERMANENT_REDIRECT = (
    "The bucket you are attempting to access must be addressed using the specified endpoint. "
    "Please send all future requests to this endpoint."
)
MSG_TEMPORARY_REDIRECT = (
    "Please re-send this request to the specified temporary endpoint. Continue to use the original request endpoint "
    "for future requests."
)


@dataclass(frozen=True)
class WrongEndpoint:
    """S3's answer to a request for ``bucket`` that reached another region's endpoint: 301 PermanentRedirect
    (another region's name, or path-style on the global name), 307 TemporaryRedirect (virtual-hosted on the global
    name: the default endpoint redirects while the bucket's DNS name is not yet everywhere). Regions launched after
    2019-03-20 answer 400 Bad Request instead, with no redirect (not modelled: no code is documented for it).
    ``endpoint`` is the host S3 names in ``<Endpoint>``."""

    status: int
    code: str
    message: str
    endpoint: str


def wrong_endpoint(named: Addressed, bucket_region_name: str, suffix: str = "amazonaws.com") -> WrongEndpoint | None:
    """What S3 answers a request addressed as ``named`` for a bucket in ``bucket_region_name``; None when the
    request reached the bucket's region (the credential scope is judged after, by the signature check).
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingRouting.html"""
    host_region = named.region if named.region is not None else GLOBAL_REGION
    if named.kind in ("accelerate", "endpoint") or host_region == bucket_region_name or named.bucket is None:
        return None
    endpoint = f"{named.bucket}.s3.{bucket_region_name}.{suffix}"
    if named.region is None and named.style == "virtual":
        return WrongEndpoint(307, TEMPORARY_REDIRECT, MSG_TEMPORARY_REDIRECT, endpoint)
    return WrongEndpoint(301, PERMANENT_REDIRECT, MSG_PERMANENT_REDIRECT, endpoint)
