"""Browse: the bucket one S3 page at a time; thumbnails your browser loads straight from the CDN."""

import os
from datetime import UTC, datetime

import streamlit as st

from pages._shared import Keys, bucket_changed, bucket_version, confirm_profile_input, get_target
from services.core import writes
from services.core.errors import ConsoleError, HistoryError
from services.core.settings import Settings
from services.core.units import human_size
from services.history.uploaded import UploadedNames, find_by_name, uploaded_names
from services.pipeline import browse
from services.pipeline.canary import CANARY_PREFIX, without_canaries
from services.views.ages import listing_age
from services.views.markdown import literal

target = get_target()
settings = target.settings
IDENTITY = browse.credentials_fingerprint(os.environ)  # part of every cache key: a new identity, new client
NOTICE_STYLES = {"ok": st.success, "info": st.info, "warn": st.warning, "error": st.error}
LISTING_TTL = 30  # seconds a listing is kept for reruns and "previous"
FOUND_LIMIT = 20  # objects a search by uploaded name shows (one HEAD each)


@st.cache_resource(max_entries=4)
def _s3(settings: Settings, identity: str) -> object:  # identity: only a cache key
    return browse.s3_client(settings)


@st.cache_data(ttl=LISTING_TTL, max_entries=32, show_spinner="Listing one page of the bucket…")
def _list_page(
    settings: Settings, identity: str, prefix: str, size: int, token: str | None, version: int
) -> tuple[browse.ListingPage, datetime]:
    # A pure read, kept briefly so reruns and "previous" cost no call; at most 32 pages are ever held. ``version``
    # (bucket_version) changes when this console uploads or deletes: the next run lists again, in every session.
    page = browse.list_page(_s3(settings, identity), settings, prefix=prefix, page_size=size, token=token)
    return page, datetime.now(UTC)


@st.cache_data(ttl=LISTING_TTL, max_entries=32, show_spinner=False)
def _names(settings: Settings, keys: tuple[str, ...], version: int) -> UploadedNames:
    return uploaded_names(settings, keys)  # the history's names of a page's keys: one query


@st.cache_data(ttl=LISTING_TTL, max_entries=8, show_spinner="Finding the objects uploaded with that name…")
def _found(settings: Settings, identity: str, name: str, version: int) -> list[browse.FoundObject]:
    return browse.locate(_s3(settings, identity), settings, find_by_name(settings, name, limit=FOUND_LIMIT))


def _search(name: str) -> set[str]:
    """The objects uploaded with a file name containing ``name``, each with a button that opens it. Their keys."""
    try:
        found = _found(settings, IDENTITY, name, bucket_version())
    except HistoryError as err:
        st.warning(f"Finding objects by the name they were uploaded with needs the history: {err}")
        return set()
    if not found:
        st.info(f"No upload through this console stored an object under a name containing {name!r}.")
        return set()
    for item in found:
        line, action = st.columns([7, 1], vertical_alignment="center")
        line.markdown(browse.found_markdown(item))
        key = item.upload.key
        action.button("Open", key=Keys.BROWSE_FOUND + key, icon=":material/open_in_full:", on_click=_open, args=(key,))
    st.caption(f"Newest first, at most {FOUND_LIMIT}, from the history of the console's uploads.")
    return {item.upload.key for item in found}


def _open(key: str) -> None:
    st.session_state[Keys.BROWSE_SELECTED] = key
    st.session_state.pop(Keys.BROWSE_DETAIL, None)


def _forget(selected: bool = True) -> None:
    st.session_state.pop(Keys.BROWSE_DETAIL, None)
    if selected:
        st.session_state[Keys.BROWSE_SELECTED] = None


def _go(cursor: browse.Cursor) -> None:
    st.session_state[Keys.BROWSE_CURSOR] = cursor
    _forget()


def _delete(key: str, also_invalidate: bool) -> None:
    if st.session_state.get(Keys.BROWSE_CONFIRM_DELETE + key) != key:
        return  # the typed key is the confirmation (and on production the profile's name, checked by the service)
    typed_profile = st.session_state.get(Keys.BROWSE_CONFIRM_PROFILE + key)
    notices = []
    try:
        browse.delete_object(_s3(settings, IDENTITY), settings, key, confirm_profile=typed_profile)
        notices.append(("ok", f"Deleted {browse.inline_code(key)} from `{settings.bucket}`."))
        if also_invalidate:
            cloudfront = browse.cloudfront_client(settings)
            notices.append(
                ("ok", browse.invalidate_object(cloudfront, settings, key, confirm_profile=typed_profile).text)
            )
    except ConsoleError as err:
        notices.append(("error", browse.error_text(err)))
    st.session_state[Keys.BROWSE_NOTICE] = notices
    bucket_changed()
    _forget()


def _invalidate(key: str) -> None:
    if not st.session_state.get(Keys.BROWSE_CONFIRM_INVALIDATE + key):
        return
    typed_profile = st.session_state.get(Keys.BROWSE_CONFIRM_PROFILE + key)
    try:
        cloudfront = browse.cloudfront_client(settings)
        notice = ("ok", browse.invalidate_object(cloudfront, settings, key, confirm_profile=typed_profile).text)
    except ConsoleError as err:
        notice = ("error", browse.error_text(err))
    st.session_state[Keys.BROWSE_NOTICE] = [notice]
    st.session_state[Keys.BROWSE_CONFIRM_INVALIDATE + key] = False
    _forget(selected=False)  # probe again: the next CDN read is a miss


def _gallery(entries: list[browse.ObjectEntry], names: UploadedNames) -> None:
    for start in range(0, len(entries), 6):
        for column, entry in zip(st.columns(6), entries[start : start + 6], strict=False):
            with column.container(border=True):
                if entry.placeholder is None:
                    st.image(entry.cdn_url, width="stretch", alt=browse.display_key(entry.key))
                else:
                    st.markdown(f":material/draft: *{entry.placeholder}*")
                uploaded_as = names.name_of(entry.key)
                st.caption(human_size(entry.size) + (f" · uploaded as {literal(uploaded_as)}" if uploaded_as else ""))
                st.button(  # the tile's own name opens its detail (a button: Streamlit images take no clicks)
                    browse.display_key(entry.key.rsplit("/", 1)[-1]),
                    key=Keys.BROWSE_OPEN + entry.key,
                    icon=":material/open_in_full:",
                    help=f"Open {browse.display_key(entry.key)}: S3 metadata, CDN headers, anonymous S3 access",
                    width="stretch",
                    type="tertiary",
                    on_click=_open,
                    args=(entry.key,),
                )


def _detail(key: str) -> None:
    again = st.button("Probe again", icon=":material/refresh:", help="S3 HEAD, CDN HEAD and the anonymous GET, now")
    detail = st.session_state.get(Keys.BROWSE_DETAIL)
    if again or detail is None or detail.key != key:
        with st.spinner("Reading S3 metadata, the CDN's headers and an anonymous S3 GET…"):
            detail = st.session_state[Keys.BROWSE_DETAIL] = browse.describe_object(
                _s3(settings, IDENTITY), settings, key
            )
    for label, value in (("Key", browse.display_key(key)), ("CDN URL", detail.cdn_url), ("S3 URI", detail.s3_uri)):
        st.caption(label)
        st.code(value, language=None)
    if (upload := _names(settings, (key,), bucket_version()).by_key.get(key)) is not None:
        st.caption(f"Uploaded as (through this console, {upload.uploaded_at:%Y-%m-%d %H:%M} UTC by {upload.by})")
        st.code(browse.display_key(upload.file_name), language=None)
    for note in browse.detail_notes(detail):
        NOTICE_STYLES[note.level](note.text)
    left, right = st.columns(2)
    left.markdown("**S3** (`head_object`)")
    left.dataframe(detail.s3_rows(), hide_index=True, width="stretch")
    right.markdown("**CDN** (`HEAD`, as a browser asks)")
    right.dataframe(detail.cdn_rows(), hide_index=True, width="stretch")
    st.markdown(f"**Anonymous S3 GET** (no signature, to `{detail.anonymous.url}`) → {detail.anonymous.outcome}")
    st.page_link(
        "pages/checks.py",
        label="Run the pipeline checks (bucket policy, CDN grant, CORS)",
        icon=":material/fact_check:",
    )
    if not settings.allow_writes:
        st.info(writes.writes_off_hint(settings), icon=":material/lock:")
        return
    with st.expander("Delete or invalidate", icon=":material/warning:"):
        profile_typed = confirm_profile_input(settings, Keys.BROWSE_CONFIRM_PROFILE + key)
        typed = st.text_input(
            f"Type the key {browse.inline_code(key)} to delete it", key=Keys.BROWSE_CONFIRM_DELETE + key
        )
        if settings.distribution_id:  # else there is no distribution to invalidate: the copy ages out of the CDN
            also = st.checkbox("Also invalidate its CDN path", value=True, key=Keys.BROWSE_ALSO_INVALIDATE)
        else:
            also = False
            st.caption(browse.NO_DISTRIBUTION_NOTE)
        deletable = typed == key and profile_typed
        st.button("Delete object", type="primary", disabled=not deletable, on_click=_delete, args=(key, also))
        if not settings.distribution_id:
            return
        path = browse.invalidation_path(key)
        sure = st.checkbox(
            f"Invalidate `{path}` ({browse.inline_code(key)}) on `{settings.distribution_id}`",
            key=Keys.BROWSE_CONFIRM_INVALIDATE + key,
        )
        invalidate = sure and profile_typed
        st.button("Create invalidation", disabled=not invalidate, on_click=_invalidate, args=(key,))


st.title("Browse")
st.caption(
    "One S3 list call per page (never a walk of the bucket). Thumbnails are the objects themselves, "
    "loaded by your browser from their CDN URLs."
)
for level, text in st.session_state.pop(Keys.BROWSE_NOTICE, []):
    NOTICE_STYLES[level](text)

left, middle, right, view_column = st.columns([3, 2, 1, 2])
prefix = left.text_input("Prefix", key=Keys.BROWSE_PREFIX, placeholder="e.g. 2024/ — literal, case-sensitive")
order = middle.radio("Order", ["Key order", "Newest first"], key=Keys.BROWSE_ORDER, horizontal=True)
page_size = right.selectbox("Page size", browse.PAGE_SIZES, index=1, key=Keys.BROWSE_PAGE_SIZE)
view = view_column.segmented_control("View", ["Gallery", "Table"], default="Gallery", key=Keys.BROWSE_VIEW)
hide_canaries = st.toggle(
    f"Hide the checks' canary uploads (`{CANARY_PREFIX}`)",
    value=True,
    key=Keys.BROWSE_HIDE_CANARIES,
    help="Each check run uploads one 8×8 PNG as the web app would, under canary/ when the endpoint allows it.",
)

name = st.text_input(
    "Find by the name it was uploaded with",
    key=Keys.BROWSE_NAME,
    placeholder="part of the file's name, as uploaded through this console",
)
found_keys = _search(name.strip()) if name.strip() else set()

cursor = st.session_state.get(Keys.BROWSE_CURSOR)
if cursor is None or not cursor.matches(prefix, page_size):
    cursor = browse.Cursor(prefix=prefix, page_size=page_size)
    _forget()
try:
    page, listed_at = _list_page(settings, IDENTITY, prefix, page_size, cursor.token, bucket_version())
except browse.BrowseError as err:
    st.error(browse.error_text(err), icon=":material/block:")
    st.stop()
cursor = st.session_state[Keys.BROWSE_CURSOR] = cursor.saw(page)

with st.container(horizontal=True, vertical_alignment="center"):  # each button as wide as its label: none cut off
    st.button(
        "Previous", icon=":material/chevron_left:", disabled=not cursor.tokens, on_click=_go, args=(cursor.back(),)
    )
    forward = cursor.forward(page.next_token) if page.next_token else cursor
    st.button("Next", icon=":material/chevron_right:", disabled=not page.next_token, on_click=_go, args=(forward,))
    st.button("Refresh", icon=":material/refresh:", on_click=_list_page.clear, help="List this page again now")
    st.caption(
        f"{browse.position_text(cursor, page)} · {listing_age(listed_at, datetime.now(UTC))}; kept up to "
        f"{LISTING_TTL} s, listed again at once after an upload or delete made in this console"
    )
if not page.entries:
    st.info(browse.empty_text(page, first_page=cursor.page_number == 1), icon=":material/inbox:")
    st.stop()

entries = browse.ordered(page.entries, newest_first=order == "Newest first")
if hide_canaries and not prefix.startswith(CANARY_PREFIX):
    entries, hidden = without_canaries(entries)
    if hidden:
        st.caption(f"{hidden} canary object(s) of the checks (`{CANARY_PREFIX}`) hidden on this page.")
if order == "Newest first":
    st.caption(browse.NEWEST_FIRST_NOTE)
names = _names(settings, tuple(entry.key for entry in entries), bucket_version())
if names.warning:
    st.caption(names.warning)
if view == "Table":
    chosen = st.dataframe(
        browse.table_rows(entries, names.names()),
        hide_index=True,
        width="stretch",
        key=Keys.BROWSE_TABLE,
        on_select="rerun",
        selection_mode="single-row",
        column_config={"CDN URL": st.column_config.LinkColumn(), "size": st.column_config.NumberColumn(format="%d B")},
    )
    st.caption(browse.TYPE_NOTE + " Select a row to open its detail.")
    rows = chosen.selection.rows if chosen is not None else []
    if rows and rows[0] < len(entries) and entries[rows[0]].key != st.session_state.get(Keys.BROWSE_SELECTED):
        _open(entries[rows[0]].key)
else:
    _gallery(entries, names)

selected = st.session_state.get(Keys.BROWSE_SELECTED)
if selected not in {entry.key for entry in entries} | found_keys:
    selected = st.session_state[Keys.BROWSE_SELECTED] = None
st.divider()
st.subheader("Object detail")
if selected:
    _detail(selected)
else:
    st.caption("Open an object by its name under its thumbnail (or select its row in the table view).")
