"""Diagnostics: gather evidence about every hop, then judge it with pure functions (one module per hop)."""
