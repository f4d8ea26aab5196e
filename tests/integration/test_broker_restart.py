# SPDX-License-Identifier: MIT
"""
The broker is stopped while the POS is sending and started again later (the
outage lasts while the rest of the events are ingested and the agent has
retried several times; backoff_max is short in the test config) → every id
acknowledged to the POS reaches the subscriber; the agent logged the outage
once, not once per retry. The subscriber has a persistent session on a
broker with persistence, as a CDP consumer would, so nothing is lost between
the broker and it.

  test_broker_restart.py STORELINKD
"""

import random
import sys
import threading
import time

import harness as h

N = 4000
WINDOW = 32
SUB_WINDOW = 100    # the broker's max_inflight_messages towards the subscriber


def body(env, storelinkd):
    broker = h.Broker(env.dir, env.pki, persistence=True)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki, persistent=True, client_id="cdp-restart")
    sub.start()
    env.cleanup.append(sub.stop)
    agent = h.Agent(storelinkd, env.dir, broker, env.pki,
                    mqtt={"inflight": str(WINDOW), "backoff_min_ms": "100",
                          "backoff_max_ms": "800"})
    agent.start()
    env.cleanup.append(agent.kill)

    reqs = h.wire(h.make_requests(N, random.Random(2)))
    acked = []
    errors = []

    def ingest():
        try:
            pos = h.PosClient(agent.pos_path)
            # small pipelined chunks: the stop lands in the middle of the stream
            for i in range(0, N, 20):
                for rep in pos.send_many(reqs[i:i + 20], pipeline=20):
                    if rep.get("ok"):
                        acked.append(rep["id"])
                    else:
                        errors.append(rep)
            pos.close()
        except Exception as e:  # reported by the main thread
            errors.append(repr(e))

    t = threading.Thread(target=ingest)
    t.start()
    h.wait_until(lambda: len(sub.event_ids()) >= N // 5, 120, "the first events to arrive")
    t_stop = time.monotonic()
    broker.stop()
    h.log("broker stopped after %d of %d events were received" % (len(sub.event_ids()), N))

    t.join(timeout=300)
    h.check(not t.is_alive(), "the POS client did not finish")
    h.check(not errors, "POS errors during the outage: %s" % errors[:3])
    h.check(len(acked) == N, "%d of %d events acknowledged" % (len(acked), N))
    # the agent keeps trying while the broker is away
    base = agent.status()["mqtt"]["reconnects"]
    h.wait_until(lambda: agent.status()["mqtt"]["reconnects"] >= base + 3, 60,
                 "reconnect attempts during the outage")
    st = agent.status()
    h.check(not st["mqtt"]["connected"], "connected to a stopped broker")
    queued = st["spool"]["depth"]
    h.check(queued > 0, "nothing queued during the outage")
    h.log("outage: %d events queued, %d reconnect attempts so far" %
          (queued, st["mqtt"]["reconnects"]))

    broker.start()
    t_start = time.monotonic()
    h.wait_until(lambda: set(acked) <= set(sub.event_ids()), 240, "every acknowledged id")
    t_drain = time.monotonic() - t_start
    ids = sub.event_ids()
    dups = len(ids) - len(set(ids))
    h.log("outage %.1f s; after the restart the backlog drained in %.1f s; %d messages, "
          "%d duplicates" % (t_start - t_stop, t_drain, len(ids), dups))
    h.check(set(ids) == set(acked), "ids that the POS never got")
    h.check(dups <= WINDOW + SUB_WINDOW, "%d duplicates: more than the windows allow" % dups)
    h.wait_until(lambda: agent.status()["spool"]["depth"] == 0, 30, "an empty spool")

    lines = [l for l in agent.stderr().splitlines()
             if "storelinkd: warn: mqtt:" in l or "storelinkd: error: mqtt:" in l]
    attempts = agent.status()["mqtt"]["reconnects"]
    h.log("%d connection attempts, %d warning lines:\n  %s" %
          (attempts, len(lines), "\n  ".join(l.split("mqtt: ", 1)[1] for l in lines)))
    # "connection lost" and "connection refused": one line each, not per retry
    h.check(len(lines) <= 3, "a warning per retry")
    h.check(any("refused" in l for l in lines), "the refused connections were not logged")
    connected = [l for l in agent.stderr().splitlines() if "mqtt: connected to" in l]
    h.check(len(connected) == 2, "expected two 'connected' lines, got %d" % len(connected))
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")


if __name__ == "__main__":
    h.run("broker_restart", lambda env: body(env, sys.argv[1]))
