"""Schemathesis hooks for moderato (loaded through SCHEMATHESIS_HOOKS).

One custom check: no response carries an email address that a request of
this run sent, except the admin views whose purpose is to show the author
the commenter's address (`/admin/comments...`, `/admin/export`).
"""

import json
import re

import schemathesis

# Every address a request of this run sent (comments, imports, erasures).
POSTED = set()
EMAIL = re.compile(r"[^\s\"'<>@]{2,}@[^\s\"'<>@]{2,}")
# Routes whose answer is the author's view of a commenter, email included.
SHOWS_EMAILS = ("/admin/comments", "/admin/export")


def _remember(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "email" and isinstance(item, str) and EMAIL.fullmatch(item.strip()):
                POSTED.add(item.strip())
            _remember(item)
    elif isinstance(value, list):
        for item in value:
            _remember(item)
    elif isinstance(value, (str, bytes)):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        for line in text.splitlines():
            try:
                _remember(json.loads(line))
            except (ValueError, RecursionError):
                pass


@schemathesis.check
def no_posted_email_in_response(ctx, response, case):
    _remember(case.body if not isinstance(case.body, type(None)) else None)
    if case.operation.path.startswith(SHOWS_EMAILS):
        return None
    body = response.content.decode("utf-8", "replace").lower()
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items()).lower()
    for email in POSTED:
        needle = email.lower()
        if needle in body or needle in headers:
            raise AssertionError(
                f"{case.method} {case.path} answered with an email a request posted: {email!r}"
            )
    return None


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    """Import bodies: one JSON value a line (strings are sent as they are)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list):
        return "".join(json.dumps(item) + "\n" for item in value).encode("utf-8")
    return (json.dumps(value) + "\n").encode("utf-8")
