#!/usr/bin/env python3
"""Check a labeled comment corpus (JSON Lines) before it is committed.

Usage: python3 corpus/check_corpus.py corpus/blog-holdout.jsonl

Checks: every line is a JSON object with the expected fields, ids are unique,
labels are only spam/ham, every email/url host (and every host written in a
comment) ends in a reserved suffix, and no two comments are near-identical.
Prints counts per label and per kind. Exits non-zero on any failure.
"""
import collections
import difflib
import json
import re
import sys
from urllib.parse import urlsplit

FIELDS = ("id", "label", "kind", "author", "email", "url", "comment")
RESERVED = ("example.org", "example.com", "example.net", ".test", ".example", ".invalid")
# Host-like tokens inside comment text ("visit shop.test", "https://x.example/...",
# the host of "name@mail.example"), but not an email's local part or a URL path.
HOST_IN_TEXT = re.compile(r"(?<![\w./-])((?:[a-z0-9-]+\.)+[a-z][a-z0-9-]+)(?![\w@-])", re.I)
URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'\[\]]+", re.I)
NOT_HOSTS = {"a.m", "p.m", "e.g", "i.e", "u.s", "b.o.n.u.s", "s.p.i.n.s", "c.a.s.i.n.o", "f.r.e.e"}


def reserved(host):
    host = host.lower().rstrip(".")
    return host in RESERVED[:3] or any(host.endswith(s) for s in RESERVED)


def main(path):
    errors, records, ids = [], [], set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: not JSON ({e})")
                continue
            if not isinstance(rec, dict) or set(rec) != set(FIELDS):
                errors.append(f"line {n}: fields must be exactly {FIELDS}")
                continue
            if not all(isinstance(rec[k], str) for k in FIELDS):
                errors.append(f"line {n}: every field must be a string")
                continue
            if rec["id"] in ids:
                errors.append(f"line {n}: duplicate id {rec['id']}")
            ids.add(rec["id"])
            if rec["label"] not in ("spam", "ham"):
                errors.append(f"line {n}: label {rec['label']!r}")
            if not rec["comment"].strip() or not rec["author"].strip() or not rec["kind"]:
                errors.append(f"line {n}: empty author, kind or comment")
            if rec["email"].count("@") != 1 or not reserved(rec["email"].split("@")[1]):
                errors.append(f"line {n}: email host not reserved: {rec['email']}")
            if rec["url"] and not reserved(urlsplit(rec["url"]).hostname or ""):
                errors.append(f"line {n}: url host not reserved: {rec['url']}")
            hosts = [urlsplit(u).hostname or u for u in URL_IN_TEXT.findall(rec["comment"])]
            for host in hosts + HOST_IN_TEXT.findall(rec["comment"]):
                if host.lower() not in NOT_HOSTS and not reserved(host):
                    errors.append(f"line {n}: host in comment not reserved: {host}")
            records.append(rec)

    texts = [" ".join(r["comment"].lower().split()) for r in records]
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if texts[i] == texts[j]:
                errors.append(f"identical: {records[i]['id']} and {records[j]['id']}")
                continue
            if min(len(texts[i]), len(texts[j])) < 20:
                continue  # "Thank you." and "thank u" are different readers, not copies
            m = difflib.SequenceMatcher(None, texts[i], texts[j], autojunk=False)
            if m.real_quick_ratio() > 0.8 and m.quick_ratio() > 0.8 and m.ratio() > 0.8:
                errors.append(f"near-identical: {records[i]['id']} and {records[j]['id']}")

    labels = collections.Counter(r["label"] for r in records)
    kinds = collections.Counter((r["label"], r["kind"]) for r in records)
    print(f"{len(records)} comments: " + ", ".join(f"{k} {v} ({v / len(records):.1%})" for k, v in sorted(labels.items())))
    for (label, kind), v in sorted(kinds.items()):
        print(f"  {label:4}  {kind:16} {v}")
    for e in errors:
        print("ERROR", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
