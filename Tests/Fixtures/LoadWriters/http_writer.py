#!/usr/bin/env python3
# http_writer.py: one writer of MixedLoadTests. Sends COUNT prompts "NAME-00042" (id "NAME-42")
# to INSTANCE over the server's HTTP input, in order, each only after the previous one was
# answered 202 (delivered or queued). mode "single": one POST per prompt; "batch": POST
# .../prompts/batch with 25 at a time. Connection errors, 503 and 401 (a restarting server) are
# retried with the same ids until DEADLINE seconds: the ids make a resend harmless. A prompt the
# server answers "failed: the server stopped while this prompt was on its way" (it was in flight
# at a kill -9; the server will not send it again as it may have reached the agent) is printed
# as "uncertain ID" and counts as answered. Exit 0 when all were answered, 1 with the reason.
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
            text = error.read().decode(errors="replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = {"error": text}
            final = error.code not in (401, 503) or body.get("code") == "delivery_failed"
            if final or time.monotonic() > deadline:
                return error.code, body
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
        results = body["results"] if status == 202 else []
    else:
        status, body = post("/v1/instances/%s/prompts" % instance, items[0])
        results = [dict(body, status=status)] if status in (202, 503) and isinstance(body, dict) else []
    ok = len(results) == len(items)
    for result in results:
        if result.get("status") == 503 and result.get("code") == "delivery_failed" and "on its way" in result.get("error", ""):
            print("uncertain %s" % result["id"], flush=True)
        elif result.get("status") != 202:
            ok = False
    if not ok:
        print("%s: prompt %d: %s %s" % (name, first, status, body), file=sys.stderr)
        sys.exit(1)
print("%s: %d sent" % (name, count))
