# SPDX-License-Identifier: MIT
"""
Hygiene: no card number (nor track data, nor raw loyalty id) that the POS
sent appears in any MQTT message the subscriber captured, in the agent's
stderr (run at log_level = debug, the most talkative), or in the bytes of the
spool files while the events sit in them (the broker is down at first, so
the spool really holds them).

  test_hygiene.py STORELINKD
"""

import glob
import os
import random
import sys

import harness as h

N = 1000


def needles(reqs):
    out = set()
    for r in reqs:
        if "_pan" in r:
            out.add(r["_pan"])
        for k in ("pan", "track2"):
            if k in r:
                out.add(r[k])
        if "loyalty_id" in r:
            out.add(r["loyalty_id"])
            # the canonical form is what gets hashed: it must not leak either
            canon = h.loyalty_canonical(r["loyalty_id"])
            if len(canon) >= 8:
                out.add(canon)
    return [n.encode() for n in out]


def find_leaks(blob, what, ns):
    leaks = [n.decode() for n in ns if n in blob]
    h.check(not leaks, "%d raw identifiers in %s, e.g. %s" % (len(leaks), what,
                                                             "…" + leaks[0][-4:] if leaks else ""))


def spool_bytes(agent):
    blob = b""
    for p in glob.glob(os.path.join(agent.state_dir, "spool.db*")):
        with open(p, "rb") as f:
            blob += f.read()
    return blob


def body(env, storelinkd):
    broker = h.Broker(env.dir, env.pki, persistence=True)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki, persistent=True, client_id="cdp-hygiene")
    sub.start()
    env.cleanup.append(sub.stop)
    agent = h.Agent(storelinkd, env.dir, broker, env.pki)
    agent.log_level = "debug"
    agent.configure()
    broker.stop()       # the events must wait in the spool first
    agent.start()
    env.cleanup.append(agent.kill)

    reqs = h.make_requests(N, random.Random(5))
    ns = needles(reqs)
    h.check(len(ns) > N // 2, "too few identifiers to look for")
    pos = h.PosClient(agent.pos_path)
    replies = pos.send_many(h.wire(reqs))
    pos.close()
    h.check(all(r.get("ok") for r in replies), "POS errors")
    ids = set(r["id"] for r in replies)
    h.wait_until(lambda: agent.spool_depth() == N, 30, "%d rows in the spool" % N)
    find_leaks(spool_bytes(agent), "the spool files", ns)

    broker.start()
    h.wait_until(lambda: ids <= set(sub.event_ids()), 120, "the events at the subscriber")
    msgs = sub.snapshot()
    h.check(len(msgs) >= N, "only %d messages captured" % len(msgs))
    find_leaks(b"\n".join(t.encode() + b" " + p for t, p, _ in msgs), "MQTT messages", ns)
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    err = agent.stderr().encode()
    h.check(b"debug:" in err, "the agent did not log at debug")
    find_leaks(err, "the agent's stderr", ns)
    find_leaks(spool_bytes(agent), "the spool files after delivery", ns)
    h.log("%d events, %d identifiers checked against %d messages, %d bytes of stderr "
          "and the spool files" % (N, len(ns), len(msgs), len(err)))


if __name__ == "__main__":
    h.run("hygiene", lambda env: body(env, sys.argv[1]))
