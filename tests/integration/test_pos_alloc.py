# SPDX-License-Identifier: MIT
"""
Allocation failures during a POS session (issue 10, item 15 and "the fault
suite"): storelinkd_failalloc (failalloc.c: the daemon with malloc, calloc,
realloc and strdup wrapped) fails its Nth allocation after the first
accepted connection. For every N over one session (a calibration run counts
them; sampled when there are many) a fresh agent gets the same pipelined
Unix session: purchases, loyalty scans and a refused purchase in between.

Every run must either answer each request correctly or close the connection:
the replies received are a prefix of the expected ones, each on its own
line (an ok with an id where an event was expected, invalid_pan on the bad
line: a lost reply would shift the next ones onto the wrong request), and
fewer replies only when the agent closed the connection. The agent stays up,
exits 0 on SIGTERM (under the ASan build a leak makes that exit status
non-zero), and every acknowledged event is in the spool with its content.
Before the fix a lost reply was skipped silently, so the replies after it
were answered on the wrong lines.

  test_pos_alloc.py STORELINKD_FAILALLOC
"""

import json
import os
import socket
import sys

import harness as h
import pos_harness as ph

MAX_RUNS = 40


def session_reqs(agent, rng):
    reqs = ph.pos_requests(6, rng, agent.master_hex, tag="A")
    bad = {"type": "purchase", "txn_id": "BAD-1", "pan": "4111111111111112", "amount": "1.00",
           "currency": "EUR", "_error": "invalid_pan"}
    # interleaved so that a shifted reply lands on a line that expects another
    return reqs[:2] + [bad] + reqs[2:4] + [dict(bad, txn_id="BAD-2")] + reqs[4:]


def connect(path):
    """A connected socket, or None while the socket file exists but the agent
    has not called listen() on it yet (bind comes first)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(120)
    try:
        s.connect(path)
        return s
    except ConnectionRefusedError:
        s.close()
        return None


def run_once(env, binary, n, rng, tag):
    """One agent, one session with allocation n failing (0: none). Returns
    (counted allocations, failed, replies received, closed early)."""
    report = os.path.join(env.dir, "failalloc-%s" % tag)
    os.environ["SL_FAILALLOC_NTH"] = str(n)
    os.environ["SL_FAILALLOC_REPORT"] = report
    agent = ph.PosAgent(binary, env.dir, env.pki, tcp=False, name="run-%s" % tag)
    try:
        agent.start()
    finally:
        del os.environ["SL_FAILALLOC_NTH"]
        del os.environ["SL_FAILALLOC_REPORT"]
    env.cleanup.append(agent.kill)
    reqs = session_reqs(agent, rng)
    replies, closed = [], False
    s = h.wait_until(lambda: connect(agent.pos_path), 60, "the POS socket to listen")
    buf = b""
    try:
        blob = b"".join(ph.wire_line(r) for r in reqs)
        s.sendall(blob[:len(blob) // 2])     # two writes: a line split across reads
        s.sendall(blob[len(blob) // 2:])
        while len(replies) < len(reqs):
            if b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                replies.append(json.loads(line))
                continue
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            buf += chunk
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    except socket.timeout:
        raise h.TestFailure("N=%d: %d replies, then none for 120 s on an open connection "
                            "(a reply was lost)" % (n, len(replies)))
    s.close()
    h.check(not buf.strip(), "N=%d: a partial reply line %r" % (n, buf[:100]))
    h.check(len(replies) == len(reqs) or closed, "N=%d: replies missing, connection open" % n)
    acked = {}
    for i, (req, rep) in enumerate(zip(reqs, replies)):
        if "_error" in req:
            h.check(rep.get("error") == req["_error"], "N=%d: reply %d on the refused line "
                    "is %r (a reply on the wrong line)" % (n, i, rep))
        else:
            h.check(rep.get("ok") is True and "id" in rep, "N=%d: reply %d on a valid line "
                    "is %r" % (n, i, rep))
            acked[rep["id"]] = req
    h.check(agent.alive(), "N=%d: the agent died:\n%s" % (n, agent.stderr()[-3000:]))
    rc = agent.stop()
    h.check(rc == 0, "N=%d: storelinkd exited with %d (a leak under ASan?):\n%s" %
            (n, rc, agent.stderr()[-3000:]))
    rows = ph.spool_rows(agent.spool_path())
    for i, req in acked.items():
        h.check(i in rows, "N=%d: acknowledged event %s not in the spool" % (n, i))
        ph.check_event(req, rows[i])
    with open(report) as f:
        counted, failed = (int(x) for x in f.read().split())
    return counted, failed, len(replies), closed


def body(env, binary):
    rng = ph.rng_for("pos_alloc")
    with open(binary, "rb") as f:
        asan = b"__asan_init" in f.read()
    total, failed, nrep, closed = run_once(env, binary, 0, rng, "calibrate")
    h.check(failed == 0 and nrep == 8 and not closed, "the calibration run failed")
    h.check(total >= 8, "only %d allocations counted in a session: the wrap is not in effect"
            % total)
    ns = list(range(1, total + 2))
    if len(ns) > MAX_RUNS:
        ns = sorted(set(ns[:MAX_RUNS // 2] + rng.sample(ns[MAX_RUNS // 2:], MAX_RUNS // 2)))
    outcomes = {"all answered": 0, "closed early": 0}
    injected = 0
    for n in ns:
        _, failed, nrep, closed = run_once(env, binary, n, rng, str(n))
        injected += failed
        outcomes["closed early" if closed and nrep < 8 else "all answered"] += 1
    h.check(injected >= len(ns) - 1, "only %d of %d runs had a failure injected" %
            (injected, len(ns)))
    h.check(outcomes["closed early"] >= 1, "no run closed the connection: the failures "
            "did not hit the POS path")
    h.log("%d allocations in a session%s; N walked over %d values: %s" %
          (total, " (ASan build)" if asan else "", len(ns),
           ", ".join("%s %d" % kv for kv in outcomes.items())))


if __name__ == "__main__":
    h.run("pos_alloc", lambda env: body(env, sys.argv[1]))
