# SPDX-License-Identifier: MIT
"""
Half-closed POS connections (issue 10, item 4): a client that writes its
requests and then shuts down its sending side (shutdown(SHUT_WR), what
`socat` does at the end of its input) must still get every reply, each after
its event was committed, and then see the agent close the connection. Before
the fix the agent closed at EOF: no reply at all (not even the auth ok)
although the events were committed, so a POS resent them and they were
stored twice.

Over the Unix socket and over TCP (the auth line in the same write), at the
same time; the Unix client's last line has no newline (handled as a line at
EOF). Then a client that half-closes in the middle of a line that is too
long gets its too_long. Every acknowledged event is in the spool exactly
once, and nothing else is.

  test_pos_half_close.py STORELINKD
"""

import json
import socket
import sys
import threading

import harness as h
import pos_harness as ph

N = 40      # requests per connection


def session(agent, reqs, tcp, result):
    try:
        c = agent.conn(tcp=tcp, auth=False)
        blob = b""
        if tcp:
            blob += json.dumps({"type": "auth", "token": agent.auth_token}).encode() + b"\n"
        blob += b"".join(ph.wire_line(r) for r in reqs)
        if not tcp:
            blob = blob[:-1]    # the last line without its newline
        c.send_raw(blob)
        c.sock.shutdown(socket.SHUT_WR)
        replies = []
        try:
            while True:
                replies.append(json.loads(c.reply_line()))
        except ConnectionError:
            pass
        c.close()
        result["replies"] = replies
    except Exception as e:      # reported by the main thread
        result["error"] = "%s: %r" % ("tcp" if tcp else "unix", e)


def body(env, storelinkd):
    rng = ph.rng_for("pos_half_close")
    agent = ph.PosAgent(storelinkd, env.dir, env.pki)
    agent.start()
    env.cleanup.append(agent.kill)
    reqs = {"unix": ph.pos_requests(N, rng, agent.master_hex, tag="U"),
            "tcp": ph.pos_requests(N, rng, agent.master_hex, tag="T")}
    results = {"unix": {}, "tcp": {}}
    threads = [threading.Thread(target=session, args=(agent, reqs[t], t == "tcp", results[t]))
               for t in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
        h.check(not t.is_alive(), "a POS client hung")

    acked = {}
    for t, r in results.items():
        h.check("error" not in r, r.get("error", ""))
        replies = r["replies"]
        if t == "tcp":
            h.check(replies[:1] == [{"ok": True}], "tcp: no auth ok after the half-close: %r" %
                    replies[:1])
            replies = replies[1:]
        h.check(len(replies) == N, "%s: %d replies for %d requests after shutdown(SHUT_WR)" %
                (t, len(replies), N))
        for req, rep in zip(reqs[t], replies):
            h.check(rep.get("ok") is True and "id" in rep, "%s: %r" % (t, rep))
            h.check(rep["id"] not in acked, "id %s twice" % rep["id"])
            acked[rep["id"]] = req

    # a half-close inside a too long line: its too_long, then the close
    c = agent.conn()
    c.send_raw(ph.wire_line({"type": "loyalty_scan", "loyalty_id": "LC-HALF-1"}) +
               b"x" * (ph.MAX_LINE + 100))
    c.sock.shutdown(socket.SHUT_WR)
    rep = c.reply()
    h.check(rep.get("ok") is True, "the line before the too long one: %r" % rep)
    acked[rep["id"]] = {"type": "loyalty_scan", "_loyalty": h.token(
        agent.master_hex, h.TENANT, "loyalty", h.loyalty_canonical("LC-HALF-1"))}
    rep = c.reply()
    h.check(rep.get("error") == "too_long", "a too long last line at EOF: %r" % rep)
    h.check(c.wait_closed() and c.buf == b"", "more after too_long: %r" % c.buf[:200])
    c.close()

    rows = ph.spool_rows(agent.spool_path())
    h.check(set(rows) == set(acked), "%d rows in the spool for %d acknowledged events" %
            (len(rows), len(acked)))
    for i, req in acked.items():
        ph.check_event(req, rows[i])
    st = h.wait_until(lambda: (lambda s: s if s["pos"]["connections_open"] == 0 else None)(
        agent.status()), 60, "the half-closed connections to be closed")
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    h.log("2 x %d requests then shutdown(SHUT_WR): every reply received, %d events stored "
          "once each; %d connections" % (N, len(rows), st["pos"]["connections"]))


if __name__ == "__main__":
    h.run("pos_half_close", lambda env: body(env, sys.argv[1]))
