# SPDX-License-Identifier: MIT
"""
Back-pressure bound (issue 10, item 12): a client that writes requests and
never reads its replies may make the agent hold at most 1024 replies /
64 KiB for it (docs/pos-protocol.md). Before the fix the bound was checked
only after each 16 KiB read, and 5,461 replies (~450 KB) were held.

Measured without timings: once the agent stopped reading (the client's
socket takes nothing more and the agent's `requests` counter stopped
moving), the replies the agent holds = requests it handled - replies already
in the client's receive queue (counted with MSG_PEEK); the status'
replies_queued / reply_bytes_queued must agree with the bound too. Then the
client reads: every request (also those the agent had read but held in its
input buffer) gets its reply, in order, and the spool holds each event once.

  test_pos_backpressure.py STORELINKD
"""

import errno
import socket
import sys

import harness as h
import pos_harness as ph

LINES = 20000
QUEUE_HIGH = 1024
OUT_HIGH = 64 * 1024
REPLY_MAX = 512         # one reply may pass the byte bound


def valid(i):
    return i % 3 != 1   # every third line is refused: longer replies (the byte bound)


def line(i):
    if not valid(i):
        return ph.wire_line({"type": "loyalty_scan", "lane": "2"})     # missing_field
    return ph.wire_line({"type": "loyalty_scan", "lane": "2", "loyalty_id": "LC-BP-%06d" % i})


def peeked_replies(sock):
    """Complete reply lines in sock's receive queue, without reading them."""
    try:
        data = sock.recv(64 << 20, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return 0
    return data.count(b"\n")


def body(env, storelinkd):
    agent = ph.PosAgent(storelinkd, env.dir, env.pki, tcp=False)
    agent.start()
    env.cleanup.append(agent.kill)
    c = agent.conn()
    c.sock.setblocking(False)
    blob = b"".join(line(i) for i in range(LINES))
    sent = 0

    def push():
        nonlocal sent
        while sent < len(blob):
            try:
                sent += c.sock.send(blob[sent:sent + 65536])
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                    raise
                return False
        return True

    # the agent stops reading: our writes block and its counter stops moving
    last = [None, 0]

    def stalled():
        h.check(not push(), "the agent read all %d lines without our reading a reply" % LINES)
        r = agent.status()["pos"]["requests"]
        if r != last[0]:
            last[0], last[1] = r, 0
            return False
        last[1] += 1
        return last[1] >= 5
    h.wait_until(stalled, 120, "the agent to stop reading", interval=0.2)
    st = agent.status()["pos"]
    held = st["requests"] - peeked_replies(c.sock)
    h.log("stalled after %d bytes sent: %d requests handled, %d held in the agent "
          "(status: %s replies, %s bytes)" % (sent, st["requests"], held,
                                              st.get("replies_queued"),
                                              st.get("reply_bytes_queued")))
    h.check(held <= QUEUE_HIGH + 1, "the agent holds %d replies for a client that does not "
            "read (bound %d)" % (held, QUEUE_HIGH))
    h.check(st["replies_queued"] <= QUEUE_HIGH and
            st["reply_bytes_queued"] <= OUT_HIGH + REPLY_MAX,
            "status: %d replies / %d bytes queued" % (st["replies_queued"],
                                                       st["reply_bytes_queued"]))
    h.check(st["requests"] < LINES, "nothing held back")

    # now read: every line gets its reply, in order
    c.sock.setblocking(True)
    c.sock.settimeout(120)
    ids = []
    while len(ids) < LINES:
        if sent < len(blob):
            c.sock.setblocking(False)
            push()
            c.sock.setblocking(True)
            c.sock.settimeout(120)
        rep = c.reply()
        if valid(len(ids)):
            h.check(rep.get("ok") is True, "reply %d: %r" % (len(ids), rep))
            ids.append(rep["id"])
        else:
            h.check(rep.get("error") == "missing_field", "reply %d: %r" % (len(ids), rep))
            ids.append(None)
    c.close()
    n_ok = sum(1 for i in ids if i)
    rows = h.wait_until(lambda: (lambda r: r if len(r) >= n_ok else None)(
        ph.spool_rows(agent.spool_path())), 60, "the events in the spool")
    h.check(set(rows) == set(i for i in ids if i), "%d rows for %d ok replies" %
            (len(rows), n_ok))
    for i in range(0, LINES, 97):
        if ids[i]:
            ev = ph.check_event({"type": "loyalty_scan", "_loyalty": h.token(
                agent.master_hex, h.TENANT, "loyalty", h.loyalty_canonical("LC-BP-%06d" % i))},
                rows[ids[i]])
            h.check(ev["id"] == ids[i], "reply id %s on event %s" % (ids[i], ev["id"]))
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    h.log("%d requests from a client that did not read: at most %d replies held, all %d "
          "answered in order once it read" % (LINES, held, LINES))


if __name__ == "__main__":
    h.run("pos_backpressure", lambda env: body(env, sys.argv[1]))
