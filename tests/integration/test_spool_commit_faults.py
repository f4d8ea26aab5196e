# SPDX-License-Identifier: MIT
"""
Spool commits failing under the agent, injected with libfiu (Debian's
fiu-utils: fiu-run -x preloads the POSIX wrappers, fiu-ctrl switches
posix/io/sync/fdatasync to fail with EIO while the agent runs; [spool] sync
= full, so every commit syncs the WAL).

1. Delete commits fail, transiently. 300 purchases are queued while the
   broker is down; the fault is switched on and the broker started: every
   event is published and acknowledged, but the commits of the PUBACK
   deletes fail. The spool must retry them by itself (status: commit_errors
   keeps growing while nothing else happens), "out" must not count them, and
   POS requests meanwhile get spool_unknown. Once the fault is switched off
   the spool drains without any new event, each event published once, "out"
   = 300; the failure run is logged once, and its end once.
2. Sync failure + kill -9. 100 purchases acknowledged, then the fault is
   switched on and 40 more are sent; the agent is killed with SIGKILL and
   started again without the fault, with the broker up. Every acknowledged
   event is published; no event whose request was answered with a failure
   (spool_error, spool_full) is; those answered spool_unknown may be (the
   reply says so; a resend with the same txn_id is made idempotent).

Without fiu-run the test FAILS (it must run in CI).

  test_spool_commit_faults.py STORELINKD
"""

import collections
import os
import shutil
import subprocess
import sys

import harness as h
import pos_harness as ph

FIU_RUN = "/usr/bin/fiu-run"
FIU_CTRL = "/usr/bin/fiu-ctrl"
POINT = "posix/io/sync/fdatasync"
EIO = 5


class FiuAgent(ph.PosAgent):
    """PosAgent started under fiu-run -x when fiu is set."""

    def __init__(self, storelinkd, workdir, pki, **kw):
        self.real_binary = storelinkd
        self.fiu = True
        ph.PosAgent.__init__(self, storelinkd, workdir, pki, tcp=False, **kw)
        self.fifo = os.path.join(self.dir, "fiu")
        self.wrapper = os.path.join(self.dir, "storelinkd-fiu")
        with open(self.wrapper, "w") as f:
            # an ASan build: libfiu's wrappers are preloaded before the ASan runtime
            f.write("#!/bin/sh\nASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}"
                    "verify_asan_link_order=0\"\nexport ASAN_OPTIONS\n"
                    "exec %s -x -f %s %s \"$@\"\n" % (FIU_RUN, self.fifo, storelinkd))
        os.chmod(self.wrapper, 0o755)

    def start(self, timeout=60):
        self.binary = self.wrapper if self.fiu else self.real_binary
        ph.PosAgent.start(self, timeout)

    def fault(self, on):
        cmd = ("enable name=%s,failinfo=%d" % (POINT, EIO)) if on else ("disable name=%s" % POINT)
        r = subprocess.run([FIU_CTRL, "-f", self.fifo, "-c", cmd, str(self.proc.pid)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        h.check(r.returncode == 0, "fiu-ctrl %s: %s" % (cmd, r.stdout.decode(errors="replace")))


def purchases(rng, agent, n, tag):
    reqs = ph.pos_requests(n * 2, rng, agent.master_hex, tag=tag)
    return [r for r in reqs if r["type"] == "purchase"][:n]


def published(sub):
    """Counter of txn ids published, and of event ids."""
    txns, ids = collections.Counter(), collections.Counter()
    for _, ev in sub.events():
        ids[ev["id"]] += 1
        if ev.get("txn"):
            txns[ev["txn"]["id"]] += 1
    return txns, ids


def delete_commit_failure(env, storelinkd, broker, sub, rng):
    agent = FiuAgent(storelinkd, env.dir, env.pki, broker=broker, name="agent-deletes",
                     spool={"sync": "full", "commit_ms": "20"},
                     mqtt={"inflight": "32", "backoff_min_ms": "100", "backoff_max_ms": "500"})
    env.cleanup.append(agent.kill)
    agent.start()
    c = agent.conn()
    reqs = purchases(rng, agent, 300, "DEL")
    reps = c.pipeline(reqs, window=50)
    h.check(all(r.get("ok") for r in reps), "not acknowledged: %r" % [r for r in reps
                                                                         if not r.get("ok")][:3])
    ids = [r["id"] for r in reps]
    h.check(agent.status()["spool"]["depth"] == 300, "not everything queued")

    agent.fault(True)
    broker.start()
    h.wait_until(lambda: set(ids) <= set(published(sub)[1]), 120,
                 "the 300 events to be published with the fault on")
    st0 = agent.status()
    # nothing else happens, yet the spool retries the failed delete commits
    h.wait_until(lambda: agent.status()["spool"]["commit_errors"] >= st0["spool"]["commit_errors"] + 3,
                 60, "the spool to retry the failed delete commit by itself")
    st = agent.status()
    h.check(st["spool"]["depth"] == 300, "depth %d while no delete is durable" % st["spool"]["depth"])
    h.check(st["events"]["purchase"]["out"] == 0,
            "out = %d before any delete was durable" % st["events"]["purchase"]["out"])
    h.log("fault on: %d events published, depth %d, out %d, %d deletes pending, %d commit errors" %
          (len(ids), st["spool"]["depth"], st["events"]["purchase"]["out"],
           st["spool"].get("deletes_pending", -1), st["spool"]["commit_errors"]))

    # a POS request meanwhile: the outcome of its commit is unknown
    during = purchases(rng, agent, 5, "DURING")
    reps = c.pipeline(during, window=5)
    h.check(all(r.get("error") == "spool_unknown" for r in reps),
            "replies while the sync fails: %r" % reps)
    h.check("same txn_id" in reps[0].get("message", ""), "spool_unknown message: %r" % reps[0])

    agent.fault(False)
    h.wait_until(lambda: agent.status()["spool"]["depth"] == 0, 60,
                 "the spool to drain once the fault is gone, with no new event")
    st = agent.status()
    h.check(st["events"]["purchase"]["out"] == 300, "out = %d, expected 300" %
            st["events"]["purchase"]["out"])
    txns, pub_ids = published(sub)
    dups = sum(pub_ids[i] - 1 for i in ids)
    h.check(dups == 0, "%d events published again although their PUBACK had come" % dups)
    c.close()
    # libfiu's remote-control thread does not block SIGTERM as the agent's
    # thread does, so under fiu-run SIGTERM kills the process outright
    h.check(agent.stop() in (0, -15), "storelinkd did not exit cleanly")
    err = agent.stderr()
    n_fail = err.count("spool commit failed")
    n_back = err.count("spool commits succeed again")
    h.check(n_fail == 1 and n_back == 1, "the failure run was logged %d times, its end %d times:\n%s"
            % (n_fail, n_back, err))
    h.log("drained after the fault: out 300, no duplicates, %d commit errors logged once" %
          st["spool"]["commit_errors"])
    broker.stop()


def sync_failure_kill(env, storelinkd, broker, sub, rng):
    agent = FiuAgent(storelinkd, env.dir, env.pki, broker=broker, name="agent-kill",
                     spool={"sync": "full", "commit_ms": "20"},
                     mqtt={"backoff_min_ms": "100", "backoff_max_ms": "500"})
    env.cleanup.append(agent.kill)
    agent.start()
    c = agent.conn()
    ok_reqs = purchases(rng, agent, 100, "KOK")
    reps = c.pipeline(ok_reqs, window=20)
    h.check(all(r.get("ok") for r in reps), "not acknowledged before the fault")
    acked = {r["id"] for r in reps}

    agent.fault(True)
    bad_reqs = purchases(rng, agent, 40, "KBAD")
    codes = {}
    for i in range(0, 40, 8):
        for req, rep in zip(bad_reqs[i:i + 8], c.pipeline(bad_reqs[i:i + 8], window=8)):
            if rep.get("ok"):
                acked.add(rep["id"])
            codes[req["txn_id"]] = rep.get("error", "ok")
    agent.kill()
    c.close()

    agent.fiu = False
    broker.start()
    agent.start()
    h.wait_until(lambda: acked <= set(published(sub)[1]), 120,
                 "every acknowledged event to be published after the restart")
    h.wait_until(lambda: agent.status()["spool"]["depth"] == 0, 60, "the spool to drain")
    txns, _ = published(sub)
    told_failed = {t for t, code in codes.items() if code not in ("ok", "spool_unknown")}
    back = told_failed & set(txns)
    h.check(not back, "%d events published although the POS was told they failed (%s)" %
            (len(back), collections.Counter(codes[t] for t in back)))
    hist = collections.Counter(codes.values())
    h.check(hist.get("spool_unknown", 0) > 0, "no spool_unknown reply while the sync failed: %s"
            % dict(hist))
    unknown_back = sum(1 for t, code in codes.items() if code == "spool_unknown" and t in txns)
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    h.log("sync failure + kill -9: replies %s; %d acknowledged all published; %d of the "
          "spool_unknown ones came back after the crash" % (dict(hist), len(acked), unknown_back))
    broker.stop()


def body(env, storelinkd):
    for tool in (FIU_RUN, FIU_CTRL):
        h.check(os.path.exists(tool) or shutil.which(os.path.basename(tool)),
                "%s missing: install fiu-utils (tools/lib/deps.sh)" % tool)
    rng = ph.rng_for("spool_commit_faults")
    broker = h.Broker(env.dir, env.pki, persistence=True)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki, persistent=True, client_id="cdp-faults-%d" % os.getpid())
    sub.start()
    env.cleanup.append(sub.stop)
    broker.stop()   # the port is kept; the subscriber reconnects when it is back
    delete_commit_failure(env, storelinkd, broker, sub, rng)
    sync_failure_kill(env, storelinkd, broker, sub, rng)


if __name__ == "__main__":
    h.run("spool_commit_faults", lambda env: body(env, sys.argv[1]))
