# SPDX-License-Identifier: MIT
"""
A full disk must not keep the spool from draining. The agent's state_dir is
a 4 MiB tmpfs and the broker is down: the POS sends purchases until the
agent refuses them (spool_full: the file system filled long before
[spool] max_mb), then a filler file takes every byte left. The broker comes
back: every event is published, and the commits of the PUBACK deletes must
go through on the full disk (the spool keeps a reserve file for this and
gives it back, docs/spool.md) so that the spool drains to 0 and "out" counts
each event once. Once the filler is deleted, purchases are acknowledged
again.

Needs root (mount -t tmpfs); without it the test FAILS.

  test_spool_disk_full_drain.py STORELINKD
"""

import os
import sys
import time

import harness as h
import pos_harness as ph

SIZE = "4m"


def body(env, storelinkd):
    mnt = os.path.join(env.dir, "state-tmpfs-%d" % os.getpid())
    why = ph.tmpfs_mount(mnt, SIZE)
    h.check(not why, "cannot mount a %s tmpfs (needs root): %s" % (SIZE, why))
    env.cleanup.append(lambda: ph.tmpfs_umount(mnt))

    broker = h.Broker(env.dir, env.pki, persistence=True)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki, persistent=True, client_id="cdp-drain-%d" % os.getpid())
    sub.start()
    env.cleanup.append(sub.stop)
    broker.stop()

    agent = ph.PosAgent(storelinkd, env.dir, env.pki, broker=broker, tcp=False, state_dir=mnt,
                        spool={"sync": "normal", "max_mb": "256", "commit_ms": "20"},
                        mqtt={"backoff_min_ms": "100", "backoff_max_ms": "500"})
    env.cleanup.append(agent.kill)
    agent.start()
    rng = ph.rng_for("spool_disk_full_drain")
    c = agent.conn()
    acked = []
    refused = 0
    deadline = time.monotonic() + 120
    while True:
        reqs = [r for r in ph.pos_requests(100, rng, agent.master_hex, tag="F%d" % len(acked))
                if r["type"] == "purchase"]
        reps = c.pipeline(reqs, window=len(reqs))
        for r in reps:
            if r.get("ok"):
                acked.append(r["id"])
            else:
                h.check(r.get("error") == "spool_full", "unexpected reply: %r" % r)
                refused += 1
        if not any(r.get("ok") for r in reps):
            break
        h.check(time.monotonic() < deadline, "the agent never refused with the disk full")
    filler = os.path.join(mnt, "filler")
    ph.fill(filler)
    st = agent.status()
    h.check(st["spool"]["depth"] == len(acked), "depth %d, %d acknowledged" %
            (st["spool"]["depth"], len(acked)))
    h.log("disk full: %d purchases acknowledged, %d refused; filler %d bytes" %
          (len(acked), refused, os.path.getsize(filler)))

    broker.start()
    h.wait_until(lambda: set(acked) <= set(sub.event_ids()), 120,
                 "every acknowledged event to be published")
    h.wait_until(lambda: agent.status()["spool"]["depth"] == 0, 60,
                 "the spool to drain on the full disk (depth %d)" % agent.status()["spool"]["depth"])
    st = agent.status()
    out = st["events"]["purchase"]["out"]
    h.check(out == len(acked), "out = %d, %d acknowledged" % (out, len(acked)))
    h.log("drained with the disk full: out %d, %d commit errors" %
          (out, st["spool"]["commit_errors"]))

    os.unlink(filler)
    probe = [r for r in ph.pos_requests(20, rng, agent.master_hex, tag="AFTER")
             if r["type"] == "purchase"]

    def one_acked():
        rep = c.pipeline(probe[:1], window=1)[0]
        h.check(rep.get("ok") or rep.get("error") == "spool_full", "unexpected reply: %r" % rep)
        return rep.get("ok")

    h.wait_until(one_acked, 60, "a purchase acknowledged once the space is back", interval=0.05)
    reps = c.pipeline(probe[1:], window=len(probe))
    h.check(all(r.get("ok") for r in reps), "refused after the space came back: %r" %
            [r for r in reps if not r.get("ok")][:2])
    c.close()
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    h.check("damaged" not in agent.stderr(), "the spool was found damaged")


if __name__ == "__main__":
    h.run("spool_disk_full_drain", lambda env: body(env, sys.argv[1]))
