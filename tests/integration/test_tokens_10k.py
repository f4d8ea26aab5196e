# SPDX-License-Identifier: MIT
"""
10,000 purchases and loyalty scans through the POS socket → a CDP subscriber
receives exactly the 10,000 ids the POS was given, and every token equals an
independent computation of docs/tokens.md (HKDF-SHA256 + HMAC-SHA256 with
Python's hmac/hashlib, never the agent's code).

  test_tokens_10k.py STORELINKD
"""

import random
import sys
import time

import harness as h

N = 10000


def expected_ids(req, master):
    ids = {}
    if req["type"] == "purchase":
        ids["card"] = h.token(master, h.TENANT, "pan", req["_pan"])
    if "loyalty_id" in req:
        ids["loyalty"] = h.token(master, h.TENANT, "loyalty",
                                 h.loyalty_canonical(req["loyalty_id"]))
    return ids


def body(env, storelinkd):
    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)
    agent = h.Agent(storelinkd, env.dir, broker, env.pki)
    agent.start()
    env.cleanup.append(agent.kill)

    reqs = h.make_requests(N, random.Random(4))
    t0 = time.monotonic()
    pos = h.PosClient(agent.pos_path)
    replies = pos.send_many(h.wire(reqs))
    pos.close()
    t_pos = time.monotonic() - t0
    bad = [r for r in replies if not r.get("ok")]
    h.check(not bad, "POS errors: %s" % bad[:3])
    by_id = {rep["id"]: req for req, rep in zip(reqs, replies)}
    h.check(len(by_id) == N, "the POS got %d distinct ids for %d events" % (len(by_id), N))

    h.wait_until(lambda: len(set(sub.event_ids())) >= N, 240, "%d ids at the subscriber" % N)
    t_all = time.monotonic() - t0
    events = sub.events()
    got = {}
    for topic, ev in events:
        got.setdefault(ev["id"], (topic, ev))
    h.check(set(got) == set(by_id), "received ids differ from the ids given to the POS "
            "(%d extra, %d missing)" % (len(set(got) - set(by_id)), len(set(by_id) - set(got))))
    h.log("%d events: POS replies in %.1f s, all received %.1f s after the first request; "
          "%d messages (%d duplicates)" % (N, t_pos, t_all, len(events), len(events) - N))

    mismatches = 0
    for eid, (topic, ev) in got.items():
        req = by_id[eid]
        want_topic = "%s/%s/%s/%s/events/%s" % (h.PREFIX, h.TENANT, h.STORE, h.GATEWAY,
                                                req["type"])
        h.check(topic == want_topic, "topic %s, expected %s" % (topic, want_topic))
        h.check(ev["type"] == req["type"] and ev["schema"] == "storelink.event/1",
                "bad envelope: %s" % ev)
        h.check(ev["tenant"] == h.TENANT and ev["store"] == h.STORE and
                ev["gateway"] == h.GATEWAY, "bad origin: %s" % ev)
        if ev.get("ids") != expected_ids(req, agent.master_hex):
            mismatches += 1
        if req["type"] == "purchase":
            h.check(ev["txn"]["id"] == req["txn_id"] and ev["txn"]["amount"] == req["amount"],
                    "transaction fields differ: %s" % ev["txn"])
    h.check(mismatches == 0, "%d events with tokens that differ from the spec" % mismatches)

    st = agent.status()
    h.check(st["mqtt"]["connected"], "status: not connected")
    out = st["events"]["purchase"]["out"] + st["events"]["loyalty_scan"]["out"]
    h.wait_until(lambda: agent.status()["spool"]["depth"] == 0, 30, "an empty spool")
    h.log("status: out %d, reconnects %d, spool depth %d" %
          (out, st["mqtt"]["reconnects"], agent.status()["spool"]["depth"]))
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")


if __name__ == "__main__":
    h.run("tokens_10k", lambda env: body(env, sys.argv[1]))
