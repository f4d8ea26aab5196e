# SPDX-License-Identifier: MIT
"""
TCP strangers cannot lock out a POS (issue 10, item 2). Before the fix 64
silent TCP connections, or clients sending one byte at a time without a
newline (the idle timeout restarted on every byte), held every
max_connections slot, and a POS on the Unix socket got too_many_connections;
a stranger's first line was fully parsed (its card tokenized) before the
auth check.

  1. A purchase with a card number as the first line of an unauthenticated
     TCP connection: `unauthorized`, and it is not handled as a request (the
     status `requests` counter does not move, nothing reaches the spool),
     counted in `auth_failed`; the log line names the failure but never the
     card nor the token sent.
  2. 70 silent TCP connections + 8 TCP and 4 Unix slowloris clients (a byte
     every 0.3 s, never a newline), with max_connections = 64: meanwhile a
     Unix POS and an already authenticated TCP POS keep being served (a
     request every 0.2 s each, all answered ok), and a new TCP POS connects
     and authenticates. At most max_unauthenticated strangers are open at
     once; every TCP stranger is closed (at auth_timeout_s or to make room),
     the Unix slowloris at idle_timeout_s counted from its last complete
     line (it never sent one).
  3. A peer that keeps failing: after auth_max_failures wrong tokens its
     address is refused (`unauthorized` at once, `auth_blocked` counts it)
     until the block expires; then the right token is accepted again.

  test_pos_lockout.py STORELINKD
"""

import json
import select
import socket
import sys
import threading
import time

import harness as h
import pos_harness as ph

SILENT = 70
SLOW_TCP = 8
SLOW_UNIX = 4
MAX_UNAUTH = 16
AUTH_FAILURES = 3


class Worker(threading.Thread):
    """A POS that sends a loyalty scan every 0.2 s until stopped; every
    reply must be ok."""

    def __init__(self, conn, name):
        threading.Thread.__init__(self, daemon=True)
        self.conn, self.name_ = conn, name
        self.stop = threading.Event()
        self.ok = 0
        self.error = None

    def run(self):
        try:
            i = 0
            while not self.stop.is_set():
                rep = self.conn.pipeline([{"type": "loyalty_scan", "lane": "1",
                                           "loyalty_id": "LC-%s-%d" % (self.name_, i)}])[0]
                if not rep.get("ok"):
                    raise h.TestFailure("%s: %r" % (self.name_, rep))
                self.ok += 1
                i += 1
                self.stop.wait(0.2)
        except Exception as e:
            self.error = "%s: %r" % (self.name_, e)


class Slowloris(threading.Thread):
    """Connections that send one byte every 0.3 s and never a newline;
    records when the agent closed each."""

    def __init__(self, socks):
        threading.Thread.__init__(self, daemon=True)
        self.socks = socks
        self.closed = set()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set() and len(self.closed) < len(self.socks):
            for i, s in enumerate(self.socks):
                if i in self.closed:
                    continue
                try:
                    s.send(b"{")
                    r, _, _ = select.select([s], [], [], 0)
                    if r and not s.recv(4096):
                        self.closed.add(i)
                except OSError:
                    self.closed.add(i)
            self.stop.wait(0.3)


def tcp_sock(agent):
    s = socket.create_connection(("127.0.0.1", agent.tcp_port), timeout=30)
    return s


def unix_sock(agent):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(agent.pos_path)
    return s


def closed_by_agent(s):
    """True once the agent closed s (EOF or reset after any message)."""
    try:
        while True:
            r, _, _ = select.select([s], [], [], 0)
            if not r:
                return False
            if not s.recv(4096):
                return True
    except OSError:
        return True


def pos_status(agent):
    return agent.status()["pos"]


def body(env, storelinkd):
    agent = ph.PosAgent(storelinkd, env.dir, env.pki, pos={
        "max_connections": "64", "max_unauthenticated": str(MAX_UNAUTH),
        "auth_timeout_s": "3", "idle_timeout_s": "4", "auth_max_failures": str(AUTH_FAILURES)})
    agent.start()
    env.cleanup.append(agent.kill)
    rng = ph.rng_for("pos_lockout")

    # ---- 1. a stranger's card is not even parsed
    pan = h.random_pan(rng)
    wrong = "wrong-" + agent.auth_token[6:]
    before = pos_status(agent)
    c = agent.conn(tcp=True, auth=False)
    c.send_raw(ph.wire_line({"type": "purchase", "txn_id": "X-1", "pan": pan, "amount": "1.00",
                             "currency": "EUR"}))
    rep = c.reply()
    h.check(rep.get("error") == "unauthorized", "a purchase before auth: %r" % rep)
    h.check(c.wait_closed(), "the stranger's connection stayed open")
    c.close()
    c = agent.conn(tcp=True, auth=False)
    c.send_raw(ph.wire_line({"type": "auth", "token": wrong}))
    h.check(c.reply().get("error") == "unauthorized", "a wrong token was accepted")
    c.close()
    after = pos_status(agent)
    h.check(after["requests"] == before["requests"],
            "a line of an unauthenticated TCP connection was handled as a request "
            "(requests %d -> %d): its card was parsed and tokenized" %
            (before["requests"], after["requests"]))
    h.check(after.get("auth_failed", 0) == before.get("auth_failed", 0) + 2,
            "auth_failed %r -> %r for 2 failures" % (before.get("auth_failed"),
                                                      after.get("auth_failed")))
    h.check(agent.spool_depth() == 0, "the spool holds %d rows" % agent.spool_depth())
    log = agent.stderr()
    h.check("not authenticated" in log, "failed auth not logged:\n%s" % log[-2000:])
    h.check(pan not in log and wrong not in log and agent.auth_token not in log,
            "the log holds the card number or a token")

    # ---- 2. strangers while POS clients work
    tpos = agent.conn(tcp=True)
    upos = agent.conn()
    workers = [Worker(tpos, "tcp"), Worker(upos, "unix")]
    for w in workers:
        w.start()
    base = pos_status(agent)
    silent = [tcp_sock(agent) for _ in range(SILENT)]
    slow = Slowloris([tcp_sock(agent) for _ in range(SLOW_TCP)] +
                     [unix_sock(agent) for _ in range(SLOW_UNIX)])
    env.cleanup.append(lambda: [s.close() for s in silent + slow.socks])
    slow.start()
    n_strangers = SILENT + SLOW_TCP + SLOW_UNIX
    h.wait_until(lambda: (lambda s: s["connections"] + s["rejected"] >=
                          base["connections"] + base["rejected"] + n_strangers)(
        pos_status(agent)), 60, "the agent to accept the strangers")
    during = pos_status(agent)
    # a Unix POS and a new TCP POS can connect now
    u2 = agent.conn()
    rep = u2.pipeline([{"type": "loyalty_scan", "loyalty_id": "LC-UNIX-NEW"}])[0]
    h.check(rep.get("ok"), "a Unix POS among %d TCP strangers: %r" % (SILENT + SLOW_TCP, rep))
    t2 = agent.conn(tcp=True)   # checks the auth ok
    rep = t2.pipeline([{"type": "loyalty_scan", "loyalty_id": "LC-TCP-NEW"}])[0]
    h.check(rep.get("ok"), "a new TCP POS among strangers: %r" % rep)
    u2.close()
    t2.close()
    h.check(during.get("unauthenticated", 0) <= MAX_UNAUTH,
            "%r unauthenticated connections open (max %d)" %
            (during.get("unauthenticated"), MAX_UNAUTH))
    h.check(during["rejected"] == base["rejected"],
            "%d connections refused" % (during["rejected"] - base["rejected"]))

    h.wait_until(lambda: all(closed_by_agent(s) for s in silent), 90,
                 "the silent TCP strangers to be closed")
    h.wait_until(lambda: len(slow.closed) == len(slow.socks), 90,
                 "the slowloris clients to be closed (%d of %d so far)" %
                 (len(slow.closed), len(slow.socks)))
    slow.stop.set()
    for w in workers:
        w.stop.set()
        w.join(60)
        h.check(w.error is None, w.error or "")
        h.check(w.ok >= 5, "%s: only %d requests served" % (w.name_, w.ok))
    st = pos_status(agent)
    dropped = st["auth_dropped"] - base.get("auth_dropped", 0)
    h.check(dropped == SILENT + SLOW_TCP, "%d TCP strangers dropped of %d" %
            (dropped, SILENT + SLOW_TCP))
    h.check(st["unauthenticated"] == 0, "%d strangers left" % st["unauthenticated"])
    h.check(st["connections_open"] == 2, "%d connections open (the 2 POS expected)" %
            st["connections_open"])
    tpos.close()
    upos.close()

    # ---- 3. a peer that keeps failing is refused for a while
    attempts = 0
    while True:
        attempts += 1
        h.check(attempts <= AUTH_FAILURES + 10, "never refused after %d failures" % attempts)
        c = agent.conn(tcp=True, auth=False)
        c.send_raw(ph.wire_line({"type": "auth", "token": wrong}))
        rep = c.reply()
        h.check(rep.get("error") == "unauthorized", "wrong token: %r" % rep)
        c.close()
        if "too many failed" in rep.get("message", ""):
            break
    # the failures of part 1 were cleared by the successful auths of part 2:
    # auth_max_failures are free, the next one blocks, the one after is refused
    h.check(attempts >= AUTH_FAILURES + 2, "refused after only %d failures" % (attempts - 1))
    h.check(pos_status(agent)["auth_blocked"] >= 1, "auth_blocked not counted")

    def auth_ok():
        c = agent.conn(tcp=True, auth=False)
        try:
            c.send_raw(json.dumps({"type": "auth", "token": agent.auth_token}).encode() + b"\n")
            return c.reply() == {"ok": True}
        finally:
            c.close()
    h.wait_until(auth_ok, 300, "the block to expire", interval=0.5)
    log = agent.stderr()
    h.check(wrong not in log and agent.auth_token not in log, "the log holds a token")
    h.check(agent.alive(), "the agent died")
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    h.log("%d silent + %d slowloris TCP and %d slowloris Unix strangers closed (%d dropped); "
          "POS served meanwhile: %s; blocked after %d more failures" %
          (SILENT, SLOW_TCP, SLOW_UNIX, dropped,
           ", ".join("%s %d" % (w.name_, w.ok) for w in workers), attempts))


if __name__ == "__main__":
    h.run("pos_lockout", lambda env: body(env, sys.argv[1]))
