"""Wildcard matching as AWS does it, one matcher for every user: IAM's `*` and `?` (actions, ARNs, StringLike), S3
CORS's `*` (origins and headers: there `?` is a literal character), and the prefix-coverage questions the
diagnostics ask of a Resource pattern (does it cover every key of a bucket, some key of it). Pure."""

from __future__ import annotations


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False, single: str | None = "?") -> bool:
    """Whole-string wildcard match: `*` is any run of characters (including none), ``single`` (IAM's `?`) exactly
    one. S3 CORS patterns have no single-character wildcard: match them with ``single=None`` (a `?` is literal).

    A `*` in the pattern is always a wildcard, even facing a literal `*` in the value. A two-pointer matcher, at worst
    O(len(pattern) * len(value)): hostile patterns cannot blow up as a backtracking regex could.
    """
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    p = v = 0
    star, mark = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] == "*":
            star, mark, p = p, v, p + 1
        elif p < len(pattern) and (pattern[p] == value[v] or (single is not None and pattern[p] == single)):
            p, v = p + 1, v + 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            v = mark
        else:
            return False
    return pattern[p:].strip("*") == ""


def _glob_states(pattern: str, text: str) -> set[int]:
    """Positions in `pattern` reachable after consuming `text` (a wildcard NFA), for prefix coverage questions."""

    def closure(states: set[int]) -> set[int]:
        todo, seen = list(states), set(states)
        while todo:
            i = todo.pop()
            if i < len(pattern) and pattern[i] == "*" and i + 1 not in seen:
                seen.add(i + 1)
                todo.append(i + 1)
        return seen

    states = closure({0})
    for ch in text:
        step = {i if pattern[i] == "*" else i + 1 for i in states if i < len(pattern) and pattern[i] in ("*", "?", ch)}
        states = closure(step)
        if not states:
            break
    return states


def _split_prefix(pattern: str, prefix: str) -> tuple[str, str] | None:
    """Match the five fixed ARN parts of `prefix` against `pattern`; return the two last parts, or None."""
    pattern_parts, prefix_parts = pattern.split(":", 5), prefix.split(":", 5)
    if len(pattern_parts) < 6:
        return pattern, prefix
    if all(wildcard_match(p, a) for p, a in zip(pattern_parts[:5], prefix_parts[:5], strict=True)):
        return pattern_parts[5], prefix_parts[5]
    return None


def _covers_all_under(pattern: str, prefix: str) -> bool:
    """Whether `pattern` matches every ARN that is `prefix` plus a non-empty suffix (e.g. every key of a bucket)."""
    split = _split_prefix(pattern, prefix)
    if split is None:
        return False
    rest_pattern, rest_prefix = split
    for i in _glob_states(rest_pattern, rest_prefix):
        rest = rest_pattern[i:]
        if "*" in rest and rest.replace("*", "") in ("", "?"):
            return True
    return False


def _matches_some_under(pattern: str, prefix: str) -> bool:
    """Whether `pattern` matches at least one ARN that is `prefix` plus a non-empty suffix."""
    split = _split_prefix(pattern, prefix)
    if split is None:
        return False
    rest_pattern, rest_prefix = split
    return any(i < len(rest_pattern) for i in _glob_states(rest_pattern, rest_prefix))


def action_matches(pattern: str, action: str) -> bool:
    """Whether an Action pattern (`s3:*`, `s3:Get*`, `*`) names an action; case-insensitive, as IAM does."""
    return wildcard_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """Whether a Resource / ARN pattern matches an ARN; case-sensitive, `*`/`?` never span the first five colons.

    Each of the six colon-separated parts is matched on its own (the last part keeps any further colons), which is
    how IAM matches Resource elements and ArnLike conditions.
    """
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) < 6 or len(arn_parts) < 6:
        return wildcard_match(pattern, arn)
    return all(wildcard_match(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))
