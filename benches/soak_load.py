"""The soak's mixed load (see benches/soak.sh): standard library only,
bounded by --duration, loopback only. Prints request counts by kind and
status at the end; exits non-zero on any 5xx, except the queue cap's 503
`queue_full` (a full moderation queue refusing new commenters, with
Retry-After: the designed answer), which is counted apart."""

import argparse
import collections
import json
import random
import threading
import time
import urllib.error
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--base", required=True)
parser.add_argument("--token", required=True)
parser.add_argument("--duration", type=float, default=600)
parser.add_argument("--clients", type=int, default=8)
args = parser.parse_args()

deadline = time.monotonic() + args.duration
counts = collections.Counter()
lock = threading.Lock()
ids = collections.deque(maxlen=2000)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid():
    """A new ULID: 48 bits of milliseconds, 80 random bits, Crockford base32."""
    value = (int(time.time() * 1000) << 80) | random.getrandbits(80)
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def call(kind, method, path, body=None, content_type="application/json", admin=False, headers=None):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(args.base + path, data=data, method=method)
    if data is not None:
        request.add_header("content-type", content_type)
    if admin:
        request.add_header("authorization", "Bearer " + args.token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, payload = e.code, e.read()
    label = str(status)
    if status == 503 and b'"queue_full"' in payload:
        label = "503 queue_full"
    with lock:
        counts[(kind, label)] += 1
    return status, payload


def reader(n):
    rng = random.Random(n)
    i = 0
    while time.monotonic() < deadline:
        i += 1
        page = f"/post-{rng.randrange(50)}/"
        roll = rng.random()
        if roll < 0.35:
            status, payload = call("post", "POST", "/api/comments", {
                "page": page, "author": f"Reader {n}", "email": f"reader{n}-{i % 97}@example.org",
                "comment": f"Reader {n}, note {i}: " + "thoughtful words " * rng.randrange(1, 60)})
            if status == 201:
                ids.append(json.loads(payload)["id"])
        elif roll < 0.75:
            call("page", "GET", f"/api/comments?page={page}")
        elif roll < 0.85:
            call("counts", "GET", "/api/counts?page=/post-1/&page=/post-2/&page=/post-3/")
        else:
            call("token", "GET", f"/api/form-token?page={page}")


def moderator():
    rng = random.Random(99)
    last_import = last_export = 0.0
    while time.monotonic() < deadline:
        now = time.monotonic()
        chosen = [ids[rng.randrange(len(ids))] for _ in range(5)] if len(ids) > 10 else []
        roll = rng.random()
        if now - last_import > 30:
            last_import = now
            lines = "".join(json.dumps({
                "id": ulid(), "page": "/imported/", "author": "Imported", "email": "imp@example.org",
                "text": f"Imported {now} {k}", "status": "approved",
                "created_at": 1700000000000, "updated_at": 1700000000000}) + "\n" for k in range(50))
            call("import", "POST", "/admin/import", lines.encode(), "application/x-ndjson", admin=True)
        elif now - last_export > 60:
            last_export = now
            call("export", "GET", "/admin/export", admin=True)
        elif not chosen:
            time.sleep(0.05)
        elif roll < 0.3:
            action = rng.choice(["approve", "reject", "spam"])
            call("decide", "POST", f"/admin/comments/{chosen[0]}/{action}", admin=True)
        elif roll < 0.5:
            call("bulk", "POST", "/admin/comments/bulk",
                 {"ids": chosen, "action": rng.choice(["approve", "reject"])}, admin=True)
        elif roll < 0.65:
            call("reply", "POST", f"/admin/comments/{chosen[0]}/reply",
                 {"comment": f"Thank you ({rng.random()})."}, admin=True)
        elif roll < 0.8:
            call("delete", "DELETE", f"/admin/comments/{chosen[0]}", admin=True)
        else:
            call("list", "GET", "/admin/comments?status=all&limit=100", admin=True)


threads = [threading.Thread(target=reader, args=(n,)) for n in range(args.clients)]
threads.append(threading.Thread(target=moderator))
for t in threads:
    t.start()
for t in threads:
    t.join()
for (kind, status), n in sorted(counts.items()):
    print(f"{kind:8} {status}: {n}")
failed = [label for (_, label) in counts if label.startswith("5") and label != "503 queue_full"]
raise SystemExit(1 if failed else 0)
