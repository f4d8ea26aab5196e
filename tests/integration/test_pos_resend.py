# SPDX-License-Identifier: MIT
"""
Resent POS requests are idempotent (issue 10, item 9): a POS whose
connection was cut before it read the reply sends the same purchase (same
store, lane and txn_id) or the same request_id again, and gets the same
reply with the same id; the CDP sees exactly one event. Cases:

  - purchase sent, connection cut before the reply, resent on a new
    connection (twice); a resend pipelined right behind the first request
    (answered after the first one's commit);
  - the same txn_id on another lane, and another txn_id on the same lane,
    are new purchases;
  - request_id on a loyalty scan (which has no txn_id) and on a purchase;
  - kill -9 after the reply, restart, resend: the same id (the keys live
    in the spool database).

Exactly one message per event at the broker: a sentinel sent last must
arrive after any duplicate could have (same priority, append order).

  test_pos_resend.py STORELINKD
"""

import socket
import sys

import harness as h
import pos_harness as ph


def start(agent):
    """Starts and waits until the POS socket accepts: the socket file appears
    at bind(), a moment before listen()."""
    agent.start()

    def accepts():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(agent.pos_path)
            return True
        except OSError:
            return False
        finally:
            s.close()
    h.wait_until(accepts, 30, "the POS socket to accept")


def body(env, storelinkd):
    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)
    agent = ph.PosAgent(storelinkd, env.dir, env.pki, broker=broker, tcp=False)
    start(agent)
    env.cleanup.append(agent.kill)
    rng = ph.rng_for("pos_resend")
    pans = iter(ph.distinct_pans(50, rng))
    sentinels = [0]

    def purchase(txn, lane="1", **extra):
        r = {"type": "purchase", "lane": lane, "txn_id": txn, "pan": next(pans),
             "amount": "9.99", "currency": "EUR"}
        r.update(extra)
        return r

    def one(req):
        c = agent.conn()
        c.send_raw(ph.wire_line(req))
        rep = c.reply()
        c.close()
        h.check(rep.get("ok"), "not acknowledged: %r" % rep)
        return rep["id"]

    def cut(req):
        """Sends req and closes before reading the reply."""
        c = agent.conn()
        c.send_raw(ph.wire_line(req))
        c.close()

    def settle():
        """Every message the agent will send has arrived: a sentinel sent
        last (same priority, so after any duplicate) has."""
        sentinels[0] += 1
        sid = one(purchase("S-%d" % sentinels[0]))
        h.wait_until(lambda: sid in sub.event_ids(), 60, "the sentinel at the subscriber")

    def messages(pred):
        return [ev for _, ev in sub.events() if pred(ev)]

    def txn_msgs(txn, lane="1"):
        return messages(lambda ev: ev.get("txn", {}).get("id") == txn and
                        ev.get("zone") == "lane-%s" % lane)

    sub.wait_subscribed()

    # 1. cut before the reply, resent twice: one event, the same id
    first = purchase("P-1")
    cut(first)
    h.wait_until(lambda: txn_msgs("P-1"), 60, "P-1 at the subscriber")
    again = dict(first, pan=first["pan"])
    id1 = one(again)
    id2 = one(again)
    h.check(id1 == id2, "two resends got different ids: %s %s" % (id1, id2))

    # 2. a resend right behind the first, on one connection (one commit)
    c = agent.conn()
    p2 = purchase("P-2")
    c.send_raw(ph.wire_line(p2) + ph.wire_line(p2))
    r1, r2 = c.reply(), c.reply()
    c.close()
    h.check(r1.get("ok") and r1 == r2, "pipelined resend: %r vs %r" % (r1, r2))

    # 3. not resends: same txn_id on another lane; another txn_id
    other_lane = one(purchase("P-2", lane="2"))
    other_txn = one(purchase("P-3"))
    h.check(len({r1["id"], other_lane, other_txn}) == 3, "distinct purchases got one id")

    # 4. request_id: a loyalty scan (no txn_id) cut and resent; a purchase
    scan = {"type": "loyalty_scan", "lane": "3", "loyalty_id": "LC-%06d" % rng.randrange(10 ** 6),
            "request_id": "req-%d" % rng.randrange(10 ** 9)}
    cut(scan)
    sid = one(scan)
    h.check(one(scan) == sid, "a loyalty scan resent with its request_id got a new id")
    pr = purchase("P-4", request_id="req-p4")
    pid = one(pr)
    # a request_id names the request, whatever its txn_id
    h.check(one(dict(pr, txn_id="P-4-retry")) == pid, "request_id resend got a new id")

    settle()
    h.check([ev["id"] for ev in txn_msgs("P-1")] == [id1],
            "P-1: messages %r, resends answered %s" % ([ev["id"] for ev in txn_msgs("P-1")], id1))
    h.check([ev["id"] for ev in txn_msgs("P-2")] == [r1["id"]], "P-2 not exactly once")
    h.check([ev["id"] for ev in txn_msgs("P-2", lane="2")] == [other_lane], "P-2 lane 2")
    h.check([ev["id"] for ev in txn_msgs("P-4")] == [pid] and not txn_msgs("P-4-retry"),
            "P-4 not exactly once")
    scans = messages(lambda ev: ev["type"] == "loyalty_scan")
    h.check([ev["id"] for ev in scans] == [sid], "loyalty scan: %r" % [ev["id"] for ev in scans])
    st = agent.status()
    h.check(st["pos"]["duplicates"] >= 6, "status pos.duplicates %r" % st["pos"]["duplicates"])

    # 5. kill -9 after the reply (its event delivered and deleted), restart, resend
    p5 = purchase("P-5")
    id5 = one(p5)
    h.wait_until(lambda: txn_msgs("P-5") and agent.spool_depth() == 0, 60,
                 "P-5 delivered and its row deleted")
    agent.kill()
    start(agent)
    h.check(one(p5) == id5, "after kill -9 and a restart, the resend got a new id")
    # the same right after the reply (the event may still be queued: it may
    # then be delivered twice with its one id, at-least-once)
    p6 = purchase("P-6")
    id6 = one(p6)
    agent.kill()
    start(agent)
    h.check(one(p6) == id6, "after kill -9 right after the reply: a new id")
    settle()
    h.check({ev["id"] for ev in txn_msgs("P-5")} == {id5}, "P-5: a second event after restart")
    h.check({ev["id"] for ev in txn_msgs("P-6")} == {id6}, "P-6: a second event after restart")
    h.check(len(txn_msgs("P-5")) == 1, "P-5: %d messages" % len(txn_msgs("P-5")))
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    h.log("resends answered with the first id; %d messages for %d events" %
          (len(sub.events()), len(set(sub.event_ids()))))


if __name__ == "__main__":
    h.run("pos_resend", lambda env: body(env, sys.argv[1]))
