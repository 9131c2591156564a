"""The one way the console writes a size: decimal (SI) units, 1 kB = 1,000 bytes, as the Upload page's file picker
(Streamlit's own widget, which the console cannot change) shows the files it holds, so a file reads the same size
in the picker, in the upload results and in Browse."""

from __future__ import annotations

UNITS = ("B", "kB", "MB", "GB", "TB")
STEP = 1000


def human_size(size: int) -> str:
    """e.g. "136 B", "268.9 kB", "2.4 MB" (decimal units)."""
    value = float(size)
    for unit in UNITS[:-1]:
        if abs(value) < STEP:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= STEP
    return f"{value:.1f} {UNITS[-1]}"
