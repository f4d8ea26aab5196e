# SPDX-License-Identifier: MIT
"""
A permanent uplink fault in the middle of a POS stream, for
test_uplink_drop.py (packets to the broker silently dropped in a network
namespace) and test_uplink_hung.py (the broker process stopped): neither
gives the agent an error or a closed socket, only silence, which the MQTT
keepalive must detect.

outage(env, agent, sub, fault_on, fault_off, ...) checks:
  - the agent sees the link as down within a bounded time (a generous
    deadline from the keepalive, never a timing assertion);
  - the POS goes on being acknowledged during the fault (the spool), and the
    agent keeps trying to reconnect without a warning per retry;
  - after the fault is lifted it reconnects, and every id acknowledged to the
    POS reaches the subscriber, each message byte for byte the payload that
    was in the spool during the fault; no id the POS never got; duplicates
    only within the in-flight windows.
"""

import collections
import json
import os
import random
import threading
import time

import harness as h
import pos_harness as ph

N = 2000
KEEPALIVE = 5            # [mqtt] keepalive, the minimum
WINDOW = 32              # [mqtt] inflight


def agent_mqtt(extra=None):
    m = {"keepalive": str(KEEPALIVE), "inflight": str(WINDOW), "backoff_min_ms": "100",
         "backoff_max_ms": "500"}
    m.update(extra or {})
    return m


def outage(env, agent, sub, fault_on, fault_off, name, dup_bound):
    reqs = h.wire(h.make_requests(N, random.Random(11)))
    acked, errors = [], []
    go_on = threading.Event()

    def ingest():
        try:
            pos = h.PosClient(agent.pos_path)
            for i in range(0, N, 20):
                if i == N // 2:
                    go_on.wait(300)     # the second half once the fault is seen
                for rep in pos.send_many(reqs[i:i + 20], pipeline=20):
                    if rep.get("ok"):
                        acked.append(rep["id"])
                    else:
                        errors.append(rep)
            pos.close()
        except Exception as e:  # reported by the main thread
            errors.append(repr(e))

    t = threading.Thread(target=ingest, daemon=True)
    t.start()
    h.wait_until(lambda: len(sub.event_ids()) >= N // 5, 120, "the first events to arrive")
    h.check(agent.status()["mqtt"]["connected"], "not connected before the fault")
    fault_on()
    t_fault = time.monotonic()
    h.log("%s: fault on after %d events were received" % (name, len(sub.event_ids())))

    # the dead link is detected: keepalive (PINGREQ unanswered) plus slack
    # for a loaded machine
    h.wait_until(lambda: not agent.status()["mqtt"]["connected"], 4 * KEEPALIVE + 60,
                 "the agent to see the silent link as down")
    t_detect = time.monotonic() - t_fault
    go_on.set()
    t.join(timeout=300)
    h.check(not t.is_alive(), "the POS client did not finish")
    h.check(not errors, "POS errors during the fault: %s" % errors[:3])
    h.check(len(acked) == N, "%d of %d events acknowledged" % (len(acked), N))

    base = agent.status()["mqtt"]["reconnects"]
    h.wait_until(lambda: agent.status()["mqtt"]["reconnects"] >= base + 2, 120,
                 "reconnect attempts during the fault")
    st = agent.status()
    h.check(not st["mqtt"]["connected"], "connected through the fault")
    h.check(st["spool"]["depth"] > 0, "nothing queued during the fault")
    spooled = ph.spool_rows(os.path.join(agent.state_dir, "spool.db"))
    h.check(set(spooled) <= set(acked), "spool rows the POS never got")
    h.log("%s: link down seen after %.1f s; %d events spooled, last error %r" %
          (name, t_detect, len(spooled), st["mqtt"]["last_error"]))

    fault_off()
    t_lift = time.monotonic()
    h.wait_until(lambda: set(acked) <= set(sub.event_ids()), 180,
                 "every acknowledged id after the fault was lifted")
    t_drain = time.monotonic() - t_lift
    h.wait_until(lambda: agent.status()["spool"]["depth"] == 0, 60, "an empty spool")
    h.check(agent.status()["mqtt"]["connected"], "not connected after the fault")

    ids = sub.event_ids()
    h.check(set(ids) == set(acked), "ids that the POS never got")
    dups = len(ids) - len(set(ids))
    h.check(dups <= dup_bound, "%d duplicates: more than the windows allow (%d)" %
            (dups, dup_bound))
    # byte for byte what was in the spool (batch = 1: a message is one event)
    got = collections.defaultdict(set)
    for topic, payload, _ in sub.snapshot():
        if "/events/" in topic:
            got[json.loads(payload)["id"]].add(payload)
    for i, p in spooled.items():
        h.check(got[i] == {p}, "event %s did not arrive exactly as spooled" % i)

    lines = [ln for ln in agent.stderr().splitlines()
             if "storelinkd: warn: mqtt:" in ln or "storelinkd: error: mqtt:" in ln]
    attempts = agent.status()["mqtt"]["reconnects"]
    h.log("%s: fault %.1f s, backlog drained %.1f s after the lift; %d messages, %d duplicates, "
          "%d connection attempts, %d warning lines:\n  %s" %
          (name, t_lift - t_fault, t_drain, len(ids), dups, attempts, len(lines),
           "\n  ".join(ln.split("mqtt: ", 1)[1] for ln in lines)))
    h.check(any("keepalive" in ln for ln in lines), "the silent link was not logged as such")
    h.check(len(lines) <= 4, "a warning per retry")
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")


def require_root(name):
    if os.geteuid() != 0:
        raise h.TestFailure("%s needs root (network namespaces, nft): run it as root, "
                            "as ./tools/test and CI do" % name)
