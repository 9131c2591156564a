"""Upload: run images through presign -> S3 PUT -> CDN read-back, exactly as the web app does."""

import streamlit as st

from pages._shared import Keys, bucket_changed, get_target, who
from services.core.errors import PipelineError
from services.core.localdns import resolution_note
from services.core.redact import redact_text
from services.core.transport import new_session
from services.core.units import human_size
from services.history.record import record_uploads
from services.pipeline.images import ALLOWED_EXTENSIONS, MAX_BYTES
from services.pipeline.preflight import SERVER_SIDE, chosen_origin
from services.pipeline.presign import hand_out_url
from services.pipeline.upload import HOP_NAMES, UploadInput, UploadResult, upload_batch
from services.views.uploads import cause_label, narrow_trace, outcome, result_rows

GRID_COLUMNS = 4
#: the action's name: the file picker's own button is already called "Upload"
UPLOAD_BUTTON = "Send through the pipeline"

target = get_target()
settings = target.settings

st.title("Upload")
st.caption(
    "Each file is checked, then the console asks the presign endpoint for a URL (header `x-extension`), "
    "PUTs the bytes with the Content-Type that was signed, and reads the object back through the CDN, "
    "comparing sha256. Keys are chosen by the endpoint, never from your file name."
)

files = st.file_uploader(
    "Images (PNG, JPEG, GIF, WebP)",
    type=list(ALLOWED_EXTENSIONS),
    accept_multiple_files=True,
    key=Keys.UPLOAD_FILES,
    help=f"Up to {human_size(MAX_BYTES)} ({MAX_BYTES:,} bytes) each. The type is decided from the bytes, not the name.",
)

strip = st.toggle(
    "Strip metadata (EXIF, GPS) by re-encoding before upload — optional",
    value=False,
    help="Off: the file's own bytes are uploaded, unchanged. On: each image is re-encoded in its own format without "
    "EXIF (GPS included), XMP, IPTC, comments and PNG text; the ICC colour profile is kept and EXIF orientation is "
    "applied to the pixels. The file changes: new bytes and a new sha256, and it may grow or shrink.",
)

origin_choices = [*settings.app_origins, SERVER_SIDE[1]]
origin = st.selectbox(
    "Upload as the browser at",
    origin_choices,
    key=Keys.UPLOAD_ORIGIN,
    help="The web app's browser preflights the presign endpoint and the bucket (CORS) before it sends anything; "
    "the console does the same from this origin, and stops a file where the browser would. "
    "server-side: no preflights (as a backend would upload).",
)

if st.button(UPLOAD_BUTTON, type="primary", icon=":material/send:", disabled=not files):
    items = [UploadInput(name=f.name, data=f.getvalue()) for f in files or []]
    results: list[UploadResult | None] = [None] * len(items)
    bar = st.progress(0.0, text=f"Uploading {len(items)} file(s)…")
    for done, (index, result) in enumerate(
        upload_batch(items, settings, strip_metadata=strip, origin=chosen_origin(origin, settings.app_origins)), start=1
    ):
        results[index] = result
        bar.progress(
            done / len(items), text=f"{done}/{len(items)} done — {result.file}: {'ok' if result.ok else 'failed'}"
        )
    st.session_state[Keys.UPLOAD_RESULTS] = [r for r in results if r is not None]
    uploaded = [(item, result) for item, result in zip(items, results, strict=True) if result is not None]
    st.session_state[Keys.UPLOAD_HISTORY_WARNING] = record_uploads(settings, uploaded, who())
    if any(r is not None and r.ok for r in results):
        bucket_changed()  # Browse lists again, not from its cache

with st.expander("Get one presigned URL (for curl or your own client)", icon=":material/link:"):
    st.caption(
        "Asks the endpoint exactly as the web app does and shows the URL whole, to you only: it is a credential "
        "until it expires, so it is not kept, logged or exported, and disappears on the next click."
    )
    ext = st.selectbox("Extension (x-extension)", ALLOWED_EXTENSIONS, key=Keys.PRESIGN_EXTENSION)
    if st.button("Get URL", icon=":material/key:"):
        try:
            with new_session() as session:
                handed = hand_out_url(session, settings, ext)
        except PipelineError as err:
            st.error(f"**Presign failed:** {redact_text(str(err))}")
            if err.cause:
                st.markdown(f"**Likely cause:** {err.cause}")
        else:
            until = handed.expires_at.strftime("%H:%M:%S UTC") if handed.expires_at else "an unknown time"
            st.warning(f"Anyone holding this URL can upload to `{handed.key}` until {until}. Do not paste it anywhere.")
            st.code(handed.url, language=None, wrap_lines=True)
            signed = (
                "signed by the endpoint" if handed.content_type_signed else "the endpoint did not say what it signed"
            )
            st.caption(f"Send `Content-Type: {handed.content_type}` ({signed}). With curl:")
            st.code(handed.curl(), language="bash", wrap_lines=True)
            if note := resolution_note(handed.url):
                st.caption(note)

if history_warning := st.session_state.get(Keys.UPLOAD_HISTORY_WARNING):
    st.warning(history_warning, icon=":material/history:")  # the uploads stand; only their record is missing

results = st.session_state.get(Keys.UPLOAD_RESULTS, [])
if not results:
    st.info(f"Choose one or more images, then press **{UPLOAD_BUTTON}**.")
    st.stop()

ok = sum(r.ok for r in results)
st.subheader(f"{ok} of {len(results)} uploaded")
st.caption(
    "Failures first. Sizes are of the bytes sent, in decimal units (1 kB = 1,000 bytes) as the picker shows them."
)
st.table(result_rows(results), hide_index=True)  # a table wraps long values: nothing is cut off

failed = [r for r in results if not r.ok]
if failed:
    st.markdown(f"**Failed ({len(failed)})**")
for result in failed:
    step = result.failed_step
    with st.expander(f":red[:material/error:] {result.file} — {outcome(result)}", expanded=len(failed) <= 3):
        status = f" — HTTP {step.http_status}" if step.http_status else ""
        code = f" `{step.code}`" if step.code else ""
        st.error(f"**{HOP_NAMES.get(step.name, step.name)} failed**{status}{code}: {step.error}")
        if step.cause:
            st.markdown(f"**{cause_label(step)}:** {step.cause}")
        st.table(result.trace_rows(), hide_index=True)

uploaded = [r for r in results if r.ok]
if uploaded:
    st.markdown(f"**Uploaded ({len(uploaded)})** — each image is loaded by your browser from the CDN")
for start in range(0, len(uploaded), GRID_COLUMNS):
    for column, result in zip(st.columns(GRID_COLUMNS), uploaded[start : start + GRID_COLUMNS], strict=False):
        with column.container(border=True):
            st.image(result.cdn_url, width="stretch")
            st.caption(f":green[:material/check_circle:] **{result.file}** — `{result.content_type}`")
            with st.expander("Key, CDN URL and trace"):
                st.caption("Key")
                st.code(result.key, language=None, wrap_lines=True)
                st.caption("CDN URL")
                st.code(result.cdn_url, language=None, wrap_lines=True)
                if result.stripped:
                    st.caption(result.stripped)
                st.markdown(narrow_trace(result))  # a list, not a table: a tile is a quarter of the page wide
