"""S3's additional checksums on a PUT: which headers and query parameters carry them, how S3 judges a body
against them, and S3's (and the S3-compatible stores') refusals. Pure: no I/O, nothing of the project imported.

As headers, S3 verifies a checksum itself
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html): a value that is not the
body's is 400 ``BadDigest`` "The CRC32 you specified did not match the calculated checksum."; a value that is not
base64 of the algorithm's length is 400 ``InvalidRequest`` "Value for x-amz-checksum-crc32 header is invalid.";
two algorithms at once, or ``x-amz-sdk-checksum-algorithm`` without its ``x-amz-checksum-*`` value (or a trailer),
are 400 ``InvalidRequest`` with the messages below (the wording AWS answers, as the S3 compatibility suites of
Ceph's s3-tests and others assert it).

In the query string of a presigned URL Amazon S3 ignores them: the AWS SDK for JavaScript v3 from 3.729 puts
``x-amz-checksum-crc32=AAAAAA==`` (the CRC32 of the empty body it presigned) and
``x-amz-sdk-checksum-algorithm=CRC32`` into every presigned PUT URL, and S3 accepts real uploads through them
(aws/aws-sdk-go-v2#2610, and LocalStack's tests against AWS). S3-compatible stores (MinIO, Cloudflare R2,
SeaweedFS) verify them and reject every upload that is not empty: MinIO answers 400
``XAmzContentChecksumMismatch`` "The provided 'x-amz-checksum' header does not match what was computed.".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

from services.aws_model.s3errors import S3Error

#: the checksum header of one algorithm is this prefix + its name in lower case
CHECKSUM_PREFIX = "x-amz-checksum-"
#: names the algorithm of a checksum that follows (as a header, or in a trailer)
SDK_ALGORITHM = "x-amz-sdk-checksum-algorithm"
TRAILER = "x-amz-trailer"
#: the CRC32 of no bytes, base64: what a presigner that never saw the body signs
EMPTY_CRC32 = "AAAAAA=="


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1  # Castagnoli, reflected
        table.append(crc)
    return tuple(table)


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as S3's ``CRC32C``: table-driven, for the sandbox's small bodies."""
    crc = 0xFFFFFFFF
    table = _CRC32C
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _crc(function: Callable[[bytes], int]) -> Callable[[bytes], bytes]:
    return lambda data: function(data).to_bytes(4, "big")


#: algorithm (lower case, as in the header name) -> digest of a body; the ones S3 verifies that are verified here
DIGESTS: Mapping[str, Callable[[bytes], bytes]] = {
    "crc32": _crc(zlib.crc32),
    "crc32c": _crc(crc32c),
    "sha1": lambda data: hashlib.sha1(data).digest(),  # noqa: S324 - S3's checksum, not a security use
    "sha256": lambda data: hashlib.sha256(data).digest(),
}
#: the digest sizes in bytes, which a value must decode to
SIZES = {"crc32": 4, "crc32c": 4, "sha1": 20, "sha256": 32}


def checksum(algorithm: str, data: bytes) -> str:
    """The base64 value S3 expects for ``data`` under ``algorithm`` (``crc32``, ``crc32c``, ``sha1``, ``sha256``)."""
    return base64.b64encode(DIGESTS[algorithm.lower()](data)).decode()


def bad_digest(algorithm: str) -> S3Error:
    return S3Error(400, "BadDigest", f"The {algorithm.upper()} you specified did not match the calculated checksum.")


def invalid_value(header: str) -> S3Error:
    return S3Error(400, "InvalidRequest", f"Value for {header} header is invalid.")


MULTIPLE_CHECKSUMS = S3Error(
    400, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
)
ALGORITHM_WITHOUT_VALUE = S3Error(
    400,
    "InvalidRequest",
    "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.",
)
#: MinIO's answer to a body whose checksum is not the one a presigned URL's query carries
STORE_QUERY_MISMATCH = S3Error(
    400, "XAmzContentChecksumMismatch", "The provided 'x-amz-checksum' header does not match what was computed."
)


def is_checksum_name(name: str) -> bool:
    """A header or query parameter that carries a checksum or names its algorithm."""
    lowered = name.strip().lower()
    return lowered.startswith(CHECKSUM_PREFIX) or lowered == SDK_ALGORITHM


def query_checksums(raw_query: str) -> dict[str, str]:
    """The checksum parameters of a URL's query string (name in lower case -> value)."""
    return {
        name.lower(): value for name, value in parse_qsl(raw_query, keep_blank_values=True) if is_checksum_name(name)
    }


def _value_fits(algorithm: str, value: str, data: bytes) -> bool | None:
    """True/False: the value is/is not the body's; None: not a well-formed value of this algorithm."""
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(digest) != SIZES[algorithm]:
        return None
    return digest == DIGESTS[algorithm](data)


def judge_header_checksums(headers: Mapping[str, str], data: bytes) -> S3Error | None:
    """S3's verdict on a PUT's checksum headers against its body; None when S3 accepts them (or there are none).
    Algorithms not verified here (crc64nvme, ...) pass unjudged."""
    lowered = {name.lower(): value for name, value in headers.items()}
    given = {name[len(CHECKSUM_PREFIX) :]: value for name, value in lowered.items() if name.startswith(CHECKSUM_PREFIX)}
    given.pop("type", None)  # x-amz-checksum-type (FULL_OBJECT / COMPOSITE) names no value
    if len(given) > 1:
        return MULTIPLE_CHECKSUMS
    if not given:
        return ALGORITHM_WITHOUT_VALUE if SDK_ALGORITHM in lowered and TRAILER not in lowered else None
    algorithm, value = next(iter(given.items()))
    if algorithm not in DIGESTS:
        return None
    fits = _value_fits(algorithm, value, data)
    if fits is None:
        return invalid_value(CHECKSUM_PREFIX + algorithm)
    return None if fits else bad_digest(algorithm)


def judge_query_checksums(raw_query: str, data: bytes) -> S3Error | None:
    """What an S3-compatible store that verifies a presigned URL's query checksums (MinIO, R2, SeaweedFS) answers
    the body; None when it fits. Amazon S3 itself ignores them (aws/aws-sdk-go-v2#2610)."""
    for name, value in query_checksums(raw_query).items():
        algorithm = name[len(CHECKSUM_PREFIX) :] if name.startswith(CHECKSUM_PREFIX) else ""
        if algorithm in DIGESTS and _value_fits(algorithm, value, data) is not True:
            return STORE_QUERY_MISMATCH
    return None
