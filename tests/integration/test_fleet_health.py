# SPDX-License-Identifier: MIT
"""
Fleet health in the retained status message (docs/mqtt.md): with
[mqtt] status_interval_s the "online" status is published again at that
interval and carries "uplink" and "health": board, uptime, spool depth,
bytes, oldest age and per-class queue and drops, POS errors by code, the
client certificate's expiry. A fleet dashboard subscribed to
{prefix}/+/+/+/status sees every gateway without asking it.

  test_fleet_health.py STORELINKD
"""

import json
import random
import re
import sys

import harness as h


def body(env, storelinkd):
    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)

    agent = h.Agent(storelinkd, env.dir, broker, env.pki, mqtt={"status_interval_s": "1"})
    agent.start()
    env.cleanup.append(agent.kill)
    pos = h.PosClient(agent.pos_path)
    reqs = h.wire(h.make_requests(6, random.Random(5)))
    bad = [{"type": "purchase", "lane": "1", "txn_id": "B-%d" % i, "amount": "1.00",
            "currency": "EUR", "pan": "4111111111111112"} for i in range(2)]
    replies = pos.send_many(reqs + bad)
    pos.close()
    h.check(all(r.get("ok") for r in replies[:6]), "POS errors: %s" % replies[:6])
    h.check([r.get("error") for r in replies[6:]] == ["invalid_pan"] * 2, "%s" % replies[6:])

    def healthy():
        return [s for _, s, _ in sub.statuses()
                if s.get("status") == "online" and "health" in s]

    # published again at the interval: the later one counts the bad requests
    h.wait_until(lambda: any(s["health"].get("pos", {}).get("errors_by_code", {})
                             .get("invalid_pan") == 2 for s in healthy()), 60,
                 "a status counting the two invalid_pan errors")
    n = len(healthy())
    h.wait_until(lambda: len(healthy()) > n, 60, "the next periodic status")
    st = healthy()[-1]
    hl = st["health"]
    h.log("status: %s" % json.dumps(st)[:400])
    h.check(hl["board"] == "x86_64", "board %r" % hl.get("board"))
    h.check(isinstance(hl["uptime_s"], int), "uptime_s")
    sp = hl["spool"]
    for k in ("depth", "bytes", "cap_bytes", "oldest_age_s", "disk_low", "commit_errors"):
        h.check(k in sp, "spool.%s missing: %s" % (k, sp))
    h.check(set(sp["classes"]) == {"purchase", "loyalty_scan", "presence", "footfall", "status"},
            "spool classes %s" % sp["classes"])
    h.check(all(set(c) == {"queued", "dropped_overflow"} for c in sp["classes"].values()),
            "class fields %s" % sp["classes"])
    h.check(hl["pos"]["errors"] == 2 and hl["pos"]["requests"] == 8, "pos %s" % hl["pos"])
    h.check(re.match(r"\d{4}-\d\d-\d\d$", hl["cert"]["not_after"]) and
            0 <= hl["cert"]["days_left"] <= 3, "cert %s" % hl["cert"])
    h.check(st["uplink"]["reconnects"] == 0 and st["uplink"]["last_refusal"] is None,
            "uplink %s" % st["uplink"])
    h.check(st["key_ids"] == ["v1"] and len(st["key_checks"]) == 1, "keys %s" % st)
    # the will (registered at connect) stays small and has no health
    raw = b"".join(p for t, p, _ in sub.snapshot() if t.endswith("/status"))
    h.check(b"4111111111111112" not in raw, "a card number in a status message")
    h.check(agent.stop() == 0, "storelinkd did not stop cleanly")


if __name__ == "__main__":
    h.run("fleet_health", lambda env: body(env, sys.argv[1]))
