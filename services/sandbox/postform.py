"""S3's POST Object (browser-based upload, a presigned POST) in front of moto: the form read as S3 reads it, and the
answer S3 gives. moto 5.2 stores whatever a form POST carries (no signature, no policy, no size limit, and the
form's Content-Type field dropped), so the front decides everything here and hands moto a plain PUT.

How S3 reads the form (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html): a
``multipart/form-data`` body whose fields come first and whose file is the last field (anything after it is
ignored); field names are case-insensitive; ``${filename}`` in ``key`` is the file's name. On success S3 answers
204 with no body, or the ``success_action_status`` asked for: 200 (empty) or 201 (a ``PostResponse`` document).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

#: S3's 412 for a POST to a bucket that is not a form
NOT_A_FORM = "Bucket POST must be of the enclosure-type multipart/form-data"
ONE_FILE = "POST requires exactly one file upload per request."
#: form fields S3 stores as the object's headers (besides x-amz-meta-*)
STORED_AS_HEADERS = ("content-type", "cache-control", "content-disposition", "content-encoding", "expires")
SUCCESS_STATUSES = ("200", "201", "204")


@dataclass
class Form:
    """The fields before the file (lower-cased names), and the file."""

    fields: dict[str, str] = field(default_factory=dict)
    file: bytes | None = None
    file_name: str | None = None
    files: int = 0

    def key(self) -> str | None:
        key = self.fields.get("key")
        if key is None or not key:
            return None
        return key.replace("${filename}", self.file_name or "")


def is_form(content_type: str | None) -> bool:
    return parse_options_header(content_type or "")[0].lower() == "multipart/form-data"


def parse(content_type: str | None, body: bytes) -> Form | None:
    """The form, in order; None when the body is not multipart/form-data with a boundary."""
    mimetype, options = parse_options_header(content_type or "")
    boundary = options.get("boundary")
    if mimetype.lower() != "multipart/form-data" or not boundary:
        return None
    decoder = MultipartDecoder(boundary.encode("latin-1"))
    decoder.receive_data(body)
    decoder.receive_data(None)
    form = Form()
    current: Field | File | None = None
    chunks: list[bytes] = []
    while True:
        try:
            event = decoder.next_event()
        except ValueError:
            return form if form.files else None
        if isinstance(event, NeedData | Epilogue):
            return form
        if isinstance(event, Field | File):
            current, chunks = event, []
        elif isinstance(event, Data) and current is not None:
            chunks.append(event.data)
            if not event.more_data:
                _take(form, current, b"".join(chunks))
                current = None


def _take(form: Form, part: Field | File, data: bytes) -> None:
    if isinstance(part, File):
        form.files += 1
        if form.files == 1:
            form.file, form.file_name = data, part.filename
        return
    if form.files:
        return  # S3 ignores fields after the file
    form.fields.setdefault(part.name.lower(), data.decode("utf-8", "replace"))


def stored_headers(form: Form) -> dict[str, str]:
    """The object headers the form sets: its Content-Type and the other REST headers, x-amz-meta-*."""
    headers = {name: form.fields[name] for name in STORED_AS_HEADERS if name in form.fields}
    headers.update({name: value for name, value in form.fields.items() if name.startswith("x-amz-meta-")})
    return headers


def success(form: Form, bucket: str, key: str, location: str, etag: str) -> tuple[int, dict[str, str], bytes]:
    """S3's answer to a stored upload: ``success_action_status`` 200 or 201, else 204."""
    asked = form.fields.get("success_action_status", "").strip()
    status = int(asked) if asked in SUCCESS_STATUSES else 204
    headers = {"ETag": etag, "Location": location}
    if status != 201:
        return status, headers, b""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<PostResponse><Location>{escape(location)}</Location><Bucket>{escape(bucket)}</Bucket>"
        f"<Key>{escape(key)}</Key><ETag>{escape(etag)}</ETag></PostResponse>"
    ).encode()
    return status, {**headers, "Content-Type": "application/xml"}, body
