"""The repair's report as the Repair page shows it: metrics, table rows and notices. Pure functions over the
report's JSON (the same object ``python -m services repair --json`` prints)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.checks.cdn import LONG_CACHE
from services.pipeline.browse import display_key

__all__ = ["LONG_CACHE", "failed_rows", "metrics", "object_rows", "outcome_notices", "type_rows"]

ACTION_WORDS = {
    "fix": "relabel",
    "ok": "already right",
    "not_image": "not an image: left as it is",
    "unreadable": "cannot be read or copied",
}


def metrics(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs for the headline numbers."""
    pairs = [
        ("Scanned", f"{report['scanned']:,}"),
        ("To fix", f"{report['to_fix']:,}"),
        ("Not images", f"{report['not_images']:,}"),
        ("Extension ≠ bytes", f"{report['extension_mismatches']:,}"),
    ]
    if report["mode"] == "apply":
        pairs += [("Fixed", f"{report['applied']:,}"), ("Failed", f"{report['failed_count']:,}")]
    return pairs


def type_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"stored Content-Type": stored, "objects": count}
        for stored, count in sorted(report["by_stored_type"].items(), key=lambda item: -item[1])
    ]


def object_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per object worth showing (the report keeps the first ``limit`` of them)."""
    return [
        {
            "key": display_key(obj["key"]),
            "what": ACTION_WORDS.get(obj["action"], obj["action"]),
            "stored type": obj["stored_type"],
            "new type": obj["new_type"] or "",
            "Cache-Control": obj["cache_control"] or "",
            "new Cache-Control": obj["new_cache_control"] or "",
            "note": obj.get("note") or "",
        }
        for obj in report["objects"]
    ]


def failed_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": display_key(f["key"]), "result": f["result"], "reason": f["reason"] or "", "code": f["code"] or ""}
        for f in report["failed"]
    ]


def outcome_notices(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(level, text) lines saying what the run did: ok, info, warn, error."""
    notices: list[tuple[str, str]] = [("info", note) for note in report.get("notes", [])]
    if report.get("stopped"):
        notices.append(
            ("warn", "Stopped before the end. Applying again continues where it stopped (a checkpoint was kept).")
        )
    if report["mode"] == "plan":
        if report["to_fix"]:
            notices.append(("warn", f"{report['to_fix']:,} object(s) to fix. Nothing was written."))
        else:
            notices.append(("ok", "Nothing to fix: every image under this prefix is labelled by its bytes."))
        return notices
    if report["failed_count"]:
        notices.append(("error", f"{report['failed_count']:,} object(s) not fixed: see the table below."))
    notices.append(("ok", f"Fixed {report['applied']:,} object(s)."))
    invalidation = report.get("invalidation") or {}
    if invalidation:
        notices.append(("error" if invalidation.get("errors") else "info", f"CDN: {invalidation['note']}"))
        notices += [("error", error) for error in invalidation.get("errors", [])]
    return notices
