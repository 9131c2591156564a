"""What the console is pointed at, as rows a person reads (the Pipeline page's table). Pure functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping

#: the summary's fields (Settings.summary), in the order a person reads them, with their names
TARGET_FIELDS: tuple[tuple[str, str], ...] = (
    ("mode", "Mode"),
    ("presign_url", "Presign endpoint"),
    ("bucket", "Bucket"),
    ("region", "Region"),
    ("cdn_url", "CDN"),
    ("app_origins", "Web app origins (CORS)"),
    ("distribution_id", "CloudFront distribution"),
    ("lambda_function", "Presign Lambda function"),
    ("client_content_type", "Content-Type the web app sends"),
    ("client_put_headers", "Other headers the web app's PUT sends"),
    ("app_reads_cross_origin", "Web app reads images cross-origin"),
    ("allow_writes", "Writes"),
)
_MODES = {"sandbox": "Sandbox (local emulation)", "configured": "Configured pipeline"}


def _shown(name: str, value: object) -> str:
    if name == "mode":
        return _MODES.get(str(value), str(value))
    if name == "allow_writes":
        return "allowed" if value else "off (read-only)"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    if name == "app_reads_cross_origin":
        return "yes (fetch, <img crossorigin>, canvas)" if value else "no (plain <img>)"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return "not set" if value in (None, "") else str(value)


def target_rows(summary: Mapping[str, object]) -> list[dict[str, str]]:
    """One row per setting: {"Setting": name, "Value": the value in words} (unset ones say "not set")."""
    return [{"Setting": label, "Value": _shown(name, summary.get(name))} for name, label in TARGET_FIELDS]


def target_markdown(summary: Mapping[str, object], escape: Callable[[str], str]) -> str:
    """``target_rows`` as a Markdown table (it wraps long values, and needs no dataframe library on the first page
    a person sees); ``escape`` makes each value literal Markdown."""
    lines = ["| Setting | Value |", "| --- | --- |"]
    lines += [f"| {row['Setting']} | {escape(row['Value']).replace('|', '&#124;')} |" for row in target_rows(summary)]
    return "\n".join(lines)
