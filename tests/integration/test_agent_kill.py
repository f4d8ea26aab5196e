# SPDX-License-Identifier: MIT
"""
The agent is SIGKILLed several times while the POS is sending and the
publisher is draining, and restarted each time → every id that was
acknowledged to the POS is received; the only duplicates are messages that
were in flight (or acknowledged by the broker while the delete was still in
the open spool transaction) when the process died.

Bound on duplicates per kill: [mqtt] inflight + [spool] commit_max (PUBACKed
rows whose delete had not been committed yet are sent again after the
restart; see docs/mqtt.md).

  test_agent_kill.py STORELINKD
"""

import collections
import random
import sys
import threading
import time

import harness as h

KILLS = 4
PER_ROUND = 1500
WINDOW = 32
COMMIT_MAX = 64


def body(env, storelinkd):
    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)
    agent = h.Agent(storelinkd, env.dir, broker, env.pki, mqtt={"inflight": str(WINDOW)},
                    spool={"commit_max": str(COMMIT_MAX)})
    env.cleanup.append(agent.kill)
    rng = random.Random(3)
    reqs = h.wire(h.make_requests(PER_ROUND * (KILLS + 1), rng))
    acked = []
    unanswered = 0
    next_req = 0

    for rnd in range(KILLS + 1):
        agent.start()
        chunk = reqs[next_req:next_req + PER_ROUND]
        next_req += len(chunk)
        stop = threading.Event()
        state = {"unanswered": 0}

        def ingest():
            try:
                pos = h.PosClient(agent.pos_path, timeout=60)
            except OSError:
                state["unanswered"] = len(chunk)
                return
            done = 0
            try:
                for i in range(0, len(chunk), 10):
                    part = chunk[i:i + 10]
                    for rep in pos.send_many(part, pipeline=10):
                        h.check(rep.get("ok"), "POS error: %s" % rep)
                        acked.append(rep["id"])
                        done += 1
            except (OSError, ConnectionError):
                pass    # the agent died under us: the rest is unanswered
            state["unanswered"] = len(chunk) - done

        t = threading.Thread(target=ingest)
        t.start()
        if rnd < KILLS:
            # kill somewhere in the middle of ingest and publishing
            seen = len(sub.event_ids())
            target = seen + rng.randrange(200, 900)
            h.wait_until(lambda: len(sub.event_ids()) >= target or not t.is_alive(), 120,
                         "events of round %d" % rnd)
            agent.kill()
            h.log("round %d: SIGKILL after %d received (%d acknowledged so far)" %
                  (rnd, len(sub.event_ids()), len(acked)))
        t.join(timeout=120)
        h.check(not t.is_alive(), "the POS client hung")
        unanswered += state["unanswered"]

    t0 = time.monotonic()
    h.wait_until(lambda: set(acked) <= set(sub.event_ids()), 240, "every acknowledged id")
    h.wait_until(lambda: agent.status()["spool"]["depth"] == 0, 60, "an empty spool")
    ids = sub.event_ids()
    counts = collections.Counter(ids)
    dups = sum(c - 1 for c in counts.values())
    lost = set(acked) - set(ids)
    h.log("%d acknowledged, %d unanswered at a kill (may or may not be sent), %d received "
          "distinct, %d duplicates (bound %d per kill), final drain %.1f s" %
          (len(acked), unanswered, len(counts), dups, WINDOW + COMMIT_MAX,
           time.monotonic() - t0))
    h.check(not lost, "%d acknowledged ids never arrived" % len(lost))
    h.check(max(counts.values()) <= KILLS + 1, "an event sent more often than kills")
    h.check(dups <= KILLS * (WINDOW + COMMIT_MAX), "%d duplicates for %d kills" % (dups, KILLS))
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")


if __name__ == "__main__":
    h.run("agent_kill", lambda env: body(env, sys.argv[1]))
