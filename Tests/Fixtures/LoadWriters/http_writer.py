#!/usr/bin/env python3
# http_writer.py: one writer of MixedLoadTests. Sends COUNT prompts "NAME-00042" (id "NAME-42")
# to INSTANCE over the server's HTTP input, in order, each only after the previous one was
# answered 202 (delivered or queued). mode "single": one POST per prompt; "batch": POST
# .../prompts/batch with 25 at a time. Connection errors, 503 and 401 (a restarting server) are
# retried with the same ids until DEADLINE seconds: the ids make a resend harmless. Exit 0 when
# all were answered, 1 with the reason otherwise.
import json, sys, time, urllib.error, urllib.request

mode, name, count, base, token_file, instance, deadline = sys.argv[1:8]
count, deadline = int(count), time.monotonic() + float(deadline)

def post(path, body):
    token = open(token_file).read().strip()
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code not in (401, 503) or time.monotonic() > deadline:
                return error.code, error.read().decode(errors="replace")
        except (OSError, urllib.error.URLError) as error:
            if time.monotonic() > deadline:
                return 0, str(error)
        time.sleep(0.05)

def prompt(i):
    return {"text": "%s-%05d" % (name, i), "id": "%s-%d" % (name, i)}

step = 25 if mode == "batch" else 1
for first in range(0, count, step):
    items = [prompt(i) for i in range(first, min(count, first + step))]
    if mode == "batch":
        status, body = post("/v1/instances/%s/prompts/batch" % instance, {"prompts": items})
        ok = status == 202 and all(r.get("status") == 202 for r in body["results"])
    else:
        status, body = post("/v1/instances/%s/prompts" % instance, items[0])
        ok = status == 202
    if not ok:
        print("%s: prompt %d: %s %s" % (name, first, status, body), file=sys.stderr)
        sys.exit(1)
print("%s: %d sent" % (name, count))
