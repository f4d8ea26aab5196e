# SPDX-License-Identifier: MIT
"""
10,000 events over TCP and 10,000 over the Unix socket, at the same time
(two connections on each, pipelined; TCP with the auth token), with
[spool] sync = full: every request is acknowledged, and the spool holds
exactly the acknowledged ids, each row being the event of the request that
got that id (type, txn id, card and loyalty tokens computed independently:
this also proves replies come back in request order). No broker answers,
so every event stays in spool.db, read with Python's sqlite3 while the
agent runs and again after it stopped.

  test_pos_10k.py STORELINKD
"""

import sys
import threading

import harness as h
import pos_harness as ph

PER_TRANSPORT = 10000
CONNS_PER_TRANSPORT = 2


def body(env, storelinkd):
    agent = ph.PosAgent(storelinkd, env.dir, env.pki, spool={"sync": "full"})
    agent.start()
    env.cleanup.append(agent.kill)

    rng = ph.rng_for("pos_10k")
    n = 2 * PER_TRANSPORT
    reqs = ph.pos_requests(n, rng, agent.master_hex)
    per_conn = PER_TRANSPORT // CONNS_PER_TRANSPORT
    jobs = []
    for k in range(2 * CONNS_PER_TRANSPORT):
        jobs.append({"tcp": k % 2 == 1, "reqs": reqs[k * per_conn:(k + 1) * per_conn]})

    def run(job):
        try:
            c = agent.conn(tcp=job["tcp"])
            job["replies"] = c.pipeline(job["reqs"], window=128)
            c.close()
        except Exception as e:
            job["error"] = repr(e)

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
        h.check(not t.is_alive(), "a POS client hung")

    by_id = {}
    for j in jobs:
        h.check("error" not in j, "%s client: %s" % ("tcp" if j["tcp"] else "unix",
                                                     j.get("error")))
        h.check(len(j["replies"]) == len(j["reqs"]), "missing replies")
        for req, rep in zip(j["reqs"], j["replies"]):
            h.check(rep.get("ok") is True, "not acknowledged: %r" % rep)
            h.check(rep["id"] not in by_id, "id %s acknowledged twice" % rep["id"])
            by_id[rep["id"]] = req
    h.check(len(by_id) == n, "%d distinct ids for %d requests" % (len(by_id), n))

    def check_spool(when):
        rows = ph.spool_rows(agent.spool_path())
        h.check(len(rows) == n, "%s: %d rows in the spool, %d acknowledged" % (when, len(rows), n))
        h.check(set(rows) == set(by_id), "%s: spool ids differ from the acknowledged ids" % when)
        for i, payload in rows.items():
            ph.check_event(by_id[i], payload)

    check_spool("running")
    st = agent.status()
    purchases = sum(1 for r in reqs if r["type"] == "purchase")
    h.check(st["spool"]["depth"] == n, "status: depth %d" % st["spool"]["depth"])
    h.check(st["events"]["purchase"]["in"] == purchases and
            st["events"]["loyalty_scan"]["in"] == n - purchases, "status: event counts")
    h.check(st["pos"]["errors"] == 0, "status: %d POS errors" % st["pos"]["errors"])
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    check_spool("stopped")
    h.check(ph.spool_integrity(agent.spool_path()) == "ok", "spool integrity check failed")
    h.log("%d events (%d purchases) over %d TCP + %d Unix connections: all acknowledged, "
          "all in the spool with the right tokens" %
          (n, purchases, CONNS_PER_TRANSPORT, CONNS_PER_TRANSPORT))


if __name__ == "__main__":
    h.run("pos_10k", lambda env: body(env, sys.argv[1]))
