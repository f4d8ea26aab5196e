# SPDX-License-Identifier: MIT
"""
Wall-clock steps under a running agent (issue 10, item 8). An LD_PRELOAD shim
(clockshift.c) shifts CLOCK_REALTIME by an offset the test rewrites while the
agent runs, and says whether adjtimex() reports the clock synchronised;
CLOCK_MONOTONIC, CLOCK_BOOTTIME and timerfd are real. The test's own clock
is never shifted: it is "real time".

Steps: normal; 10 days back (synchronised, behind ids already made); one
request with ts 9999-12-31 (refused by a ts bound, or accepted as data);
10 days forward while unsynchronised; back to real time; 1 h forward while
synchronised (followed); back again (ignored: ids never go back). After
each step: every event id (UUIDv7) is above the previous ones, within 2 h of
real time, and its millisecond advances with real time; status uptime_s is
small, spool.oldest_age_s is there (no broker: the backlog stays) and sane.

  test_clock_shift.py STORELINKD LIBSL_CLOCKSHIFT.SO
"""

import os
import socket
import sys
import time

import harness as h
import pos_harness as ph

DAY = 86400
NEAR_MS = 2 * 3600 * 1000     # an id within 2 h of real time is "sane" (the bug: 10 days, year 9999)


def uuid_ms(u):
    return int(u.replace("-", "")[:12], 16)


class Shifted(ph.PosAgent):
    """PosAgent whose storelinkd runs with the shim."""

    def __init__(self, shim, *a, **kw):
        self.shim = shim
        self.shift_file = None
        ph.PosAgent.__init__(self, *a, **kw)
        self.shift_file = os.path.join(self.dir, "clockshift")
        self.shift(0, "unsynced")

    def shift(self, seconds, sync):
        tmp = self.shift_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d %s\n" % (seconds, sync))
        os.rename(tmp, self.shift_file)   # atomic: the shim never reads half a file

    def start(self, timeout=60):
        saved = {k: os.environ.get(k) for k in ("LD_PRELOAD", "SL_CLOCKSHIFT_FILE", "ASAN_OPTIONS")}
        os.environ["LD_PRELOAD"] = self.shim
        os.environ["SL_CLOCKSHIFT_FILE"] = self.shift_file
        # an ASan build: the shim is preloaded before the ASan runtime
        os.environ["ASAN_OPTIONS"] = ":".join(x for x in (saved["ASAN_OPTIONS"],
                                                          "verify_asan_link_order=0") if x)
        try:
            ph.PosAgent.start(self, timeout)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def accepts(agent):
    """The socket file appears at bind(), a moment before listen()."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(agent.pos_path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def body(env, storelinkd, shim):
    h.check(os.path.exists(shim), "the clock shim %s is not built" % shim)
    agent = Shifted(shim, storelinkd, env.dir, env.pki, tcp=False)
    agent.start()
    env.cleanup.append(agent.kill)
    h.wait_until(lambda: accepts(agent), 30, "the POS socket to accept")
    rng = ph.rng_for("clock_shift")
    pans = iter(ph.distinct_pans(200, rng))
    conn = agent.conn()
    ids = []
    seq = [0]

    def buy(n, what, **extra):
        """n purchases; checks their ids against the ones before and real time."""
        got = []
        for _ in range(n):
            seq[0] += 1
            req = {"type": "purchase", "lane": "1", "txn_id": "C-%d" % seq[0], "pan": next(pans),
                   "amount": "1.00", "currency": "EUR"}
            req.update(extra)
            conn.send_raw(ph.wire_line(req))
            rep = conn.reply()
            h.check(rep.get("ok"), "%s: not acknowledged: %r" % (what, rep))
            got.append(rep["id"])
        now = time.time() * 1000
        for u in got:
            h.check(not ids or u > ids[-1], "%s: id %s not above the previous %s" %
                    (what, u, ids[-1] if ids else None))
            h.check(abs(uuid_ms(u) - now) < NEAR_MS, "%s: id %s is %.1f days from real time" %
                    (what, u, (uuid_ms(u) - now) / 86400e3))
            ids.append(u)
        return got

    def advancing(what):
        """The id clock runs: after 30 real ms, a new id has a later millisecond
        (before the fix, a backward step held every id at the last millisecond)."""
        last = uuid_ms(ids[-1])
        t0 = time.monotonic()
        h.wait_until(lambda: time.monotonic() - t0 > 0.03, 10, "30 ms")
        buy(1, what)
        h.check(uuid_ms(ids[-1]) > last, "%s: the ids' time stands still at %d" % (what, last))

    def sane_status(what):
        st = agent.status()
        up, age = st["uptime_s"], st["spool"]["oldest_age_s"]
        h.check(0 <= up < 3600, "%s: uptime_s %r" % (what, up))
        h.check(st["spool"]["depth"] >= len(ids), "%s: spool depth %r" % (what, st["spool"]["depth"]))
        h.check(age is not None and 0 <= age < 3600, "%s: spool.oldest_age_s %r with a backlog of %d" %
                (what, age, st["spool"]["depth"]))
        return st

    buy(3, "normal")
    advancing("normal")
    sane_status("normal")

    agent.shift(-10 * DAY, "synced")
    buy(3, "10 days back")
    advancing("10 days back")
    sane_status("10 days back")

    conn.send_raw(ph.wire_line({"type": "purchase", "lane": "1", "txn_id": "C-future",
                                "pan": next(pans), "amount": "1.00", "currency": "EUR",
                                "ts": "9999-12-31T23:59:59.999Z"}))
    rep = conn.reply()
    h.check(rep.get("ok") or rep.get("error") == "invalid_field",
            "ts 9999-12-31: expected ok or invalid_field, got %r" % rep)
    if rep.get("ok"):
        h.check(abs(uuid_ms(rep["id"]) - time.time() * 1000) < NEAR_MS,
                "the id of a request with ts 9999-12-31 carries that time: %s" % rep["id"])
        ids.append(rep["id"])
    buy(3, "after ts 9999-12-31")
    advancing("after ts 9999-12-31")

    agent.shift(10 * DAY, "unsynced")
    buy(3, "10 days forward, unsynchronised")
    advancing("10 days forward, unsynchronised")
    sane_status("10 days forward, unsynchronised")

    agent.shift(0, "synced")
    # the agent asks the kernel at most once a second: wait until it saw "synced"
    h.wait_until(lambda: agent.status()["clock"]["synced"], 30, "the agent to see the clock synced")
    buy(3, "back to real time")
    st = sane_status("back to real time")
    h.check(abs(st["clock"]["offset_s"]) < 60, "offset_s %r at real time" % st["clock"]["offset_s"])

    # a step the kernel vouches for, ahead of every id made: followed
    agent.shift(3600, "synced")
    before = agent.status()["clock"]["steps_followed"]
    buy(3, "1 h forward, synchronised")
    h.check(uuid_ms(ids[-1]) - time.time() * 1000 > 1800e3,
            "a synchronised forward step of 1 h was not followed: %s" % ids[-1])
    st = sane_status("1 h forward, synchronised")
    h.check(st["clock"]["steps_followed"] > before, "steps_followed did not count it: %r" % st["clock"])
    # and back: behind the ids already made, so ignored (ids never go back)
    agent.shift(0, "synced")
    buy(3, "1 h back, synchronised")
    advancing("1 h back, synchronised")
    st = sane_status("1 h back, synchronised")
    h.check(st["clock"]["steps_ignored"] >= 3, "steps_ignored %r" % st["clock"])

    conn.close()
    rows = ph.spool_rows(agent.spool_path())
    h.check(set(ids) <= set(rows), "acknowledged ids missing from the spool")
    h.check("event ids keep the agent's clock" in agent.stderr(), "no log line for an ignored step")
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    h.log("%d ids, all increasing and within 2 h of real time; status %s" %
          (len(ids), st["clock"]))


if __name__ == "__main__":
    h.run("clock_shift", lambda env: body(env, sys.argv[1], sys.argv[2]))
