# SPDX-License-Identifier: MIT
"""
Raw identifier hygiene of the POS path, down to the process memory.

3,000 POS requests over Unix and TCP with distinct card numbers (pan, some
spaced or dashed, track 2, track 1, both), distinct loyalty ids in several
spellings, plus rejected requests that still carried raw identifiers
(Luhn-invalid numbers, a valid card with a bad currency or a non-string
loyalty id, card fields that disagree, malformed track 1, truncated JSON,
overlong lines full of card numbers, TCP lines without auth). Then, with the
agent running and its POS connections still open, `gcore` dumps its memory.

What must not appear, anywhere: the card number's digits (canonical form),
each pan/track/loyalty string exactly as sent, the track 1 cardholder name,
the track discretionary data, the canonical loyalty id. Where: the core
dump, spool.db / -wal / -shm (while running and after the stop), and the
agent's stderr at log_level = debug. Positive controls make sure the
searches would see them: the spool files hold every card token, and the core
holds transaction ids (SQLite's page cache). A hit in the core is reported
with the memory region it lies in (heap, stack, a library's data).

  test_pos_hygiene.py STORELINKD
"""

import glob
import os
import subprocess
import sys

import harness as h
import pos_harness as ph

N = 3000
CORE_MAX = 1 << 30      # bytes of memory gcore may dump


def bad_requests(rng, n):
    """Rejected requests that carry raw identifiers: (line, code, needles)."""
    out = []
    pans = ph.distinct_pans(2 * n, rng)
    tail = ',"txn_id":"B-%d","amount":"1.00","currency":"EUR"}'
    for i in range(n):
        pan, other = pans[2 * i], pans[2 * i + 1]
        kind = i % 8
        t = tail % i
        if kind == 0:
            wrong = pan[:-1] + str((int(pan[-1]) + 1) % 10)
            line, code, needles = '{"type":"purchase","pan":"%s"%s' % (wrong, t), "invalid_pan", [wrong]
        elif kind == 1:
            line = '{"type":"purchase","pan":"%s","txn_id":"B-%d","amount":"1.00","currency":"eur"}' % (pan, i)
            code, needles = "invalid_field", [pan]
        elif kind == 2:
            line, code, needles = ('{"type":"purchase","pan":"%s","loyalty_id":42%s' % (pan, t),
                                   "invalid_loyalty_id", [pan])
        elif kind == 3:
            tr = ";%s=30121010000000?" % other
            line = '{"type":"purchase","pan":"%s","track2":"%s"%s' % (pan, tr, t)
            code, needles = "invalid_track", [pan, other, tr]
        elif kind == 4:
            name = "BAD%06d/TRACK" % i
            tr = "%%B%s^%s^12?" % (pan, name)
            line, code, needles = ('{"type":"purchase","track1":"%s"%s' % (tr, t), "invalid_track",
                                   [pan, name, tr])
        elif kind == 5:
            line, code, needles = '{"type":"purchase","pan":"%s' % pan, "bad_json", [pan]
        elif kind == 6:
            line = '{"type":"purchase","pan":"%s","x":"%s"}' % (pan, (pan + " ") * 2000)
            code, needles = "too_long", [pan]
        else:
            raw = "lc-bad-%06d" % i
            line = '{"type":"loyalty_scan","lane":"%s","loyalty_id":"%s"}' % ("L" * 40, raw)
            code, needles = "invalid_field", [raw, h.loyalty_canonical(raw)]
        out.append((line.encode(), code, [x.encode() for x in needles]))
    return out


def spool_files(agent):
    return sorted(glob.glob(agent.spool_path() + "*"))


def no_leaks(found, what, core=None, maps=None):
    if not found:
        return
    lines = []
    for n in sorted(found)[:8]:
        where = ph.locate_in_core(core, maps, n) if core else []
        lines.append("%s%s" % (ph.redact(n), (" at " + "; ".join(where)) if where else ""))
    raise h.TestFailure("%d raw identifiers in %s:\n  %s" % (len(found), what, "\n  ".join(lines)))


def check_core(env, agent, pid, maps, reqs, needles):
    prefix = os.path.join(env.dir, "core")
    core = "%s.%d" % (prefix, pid)
    try:
        r = subprocess.run(["gcore", "-o", prefix, str(pid)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300)
        h.check(r.returncode == 0 and os.path.exists(core),
                "gcore failed (Debian package gdb; ptrace allowed?): %s" %
                r.stdout.decode(errors="replace")[-500:])
        h.check(agent.alive(), "the agent died under gcore")
        txn_ids = set(("H-%d" % i).encode() for i, r in enumerate(reqs)
                      if r["type"] == "purchase")
        seen_txn = ph.grep_needles([core], txn_ids)
        h.check(seen_txn, "control: no transaction id in the core dump; is the search blind?")
        found = ph.grep_needles([core], needles)
        no_leaks(found, "the core dump (%d bytes)" % os.path.getsize(core), core, maps)
        h.log("core dump: %d bytes, none of %d identifiers (control: %d txn ids seen)" %
              (os.path.getsize(core), len(needles), len(seen_txn)))
    finally:
        if os.path.exists(core):    # never keep it: it is big, and full of test data
            os.unlink(core)


def body(env, storelinkd):
    agent = ph.PosAgent(storelinkd, env.dir, env.pki, log_level="debug")
    agent.start()
    env.cleanup.append(agent.kill)
    rng = ph.rng_for("pos_hygiene")

    reqs = ph.pos_requests(N, rng, agent.master_hex, tag="H")
    needles = set(n for r in reqs for n in r["_needles"])
    unix, tcp = agent.conn(tcp=False), agent.conn(tcp=True)
    half = N // 2
    for c, part in ((unix, reqs[:half]), (tcp, reqs[half:])):
        for rep in c.pipeline(part, window=100):
            h.check(rep.get("ok"), "not acknowledged: %r" % rep)

    bad = bad_requests(rng, 400)
    for k, (line, code, ns) in enumerate(bad):
        c = tcp if k % 2 else unix
        c.send_raw(line + b"\n")
        rep = c.reply()
        h.check(rep.get("error") == code, "expected %s, got %r" % (code, rep))
        needles.update(ns)
    for i, pan in enumerate(ph.distinct_pans(5, rng)):
        c = agent.conn(tcp=True, auth=False)
        c.send_raw(b'{"type":"purchase","pan":"%s","txn_id":"U-%d","amount":"1","currency":"EUR"}\n'
                   % (pan.encode(), i))
        h.check(c.reply().get("error") == "unauthorized", "TCP without auth accepted")
        c.wait_closed()
        c.close()
        needles.add(pan.encode())

    # the last request before the dump: a valid card in a rejected purchase,
    # on a connection that stays open
    last = ph.distinct_pans(1, rng)[0]
    unix.send_raw(b'{"type":"purchase","lane":"1","txn_id":"Z-1","pan":"%s","amount":"2.00",'
                  b'"currency":"EUR","loyalty_id":7}\n' % last.encode())
    h.check(unix.reply().get("error") == "invalid_loyalty_id", "last request")
    needles.add(last.encode())
    h.log("%d requests + %d rejected ones; %d distinct raw identifiers to look for" %
          (N, len(bad) + 6, len(needles)))

    # the core dump of the running agent
    pid = agent.proc.pid
    maps = ph.read_maps(pid)
    estimate = ph.core_estimate(maps)
    st = os.statvfs(env.dir)
    if estimate > CORE_MAX or estimate * 2 > st.f_bavail * st.f_frsize:
        # e.g. an ASan build: its shadow and allocator regions would make a
        # core of tens of GiB; the spool and stderr checks below still run
        h.log("SKIPPED the core dump part: the agent maps %.1f GiB of dumpable memory "
              "(a sanitizer build?), %.1f GiB free" %
              (estimate / 2 ** 30, st.f_bavail * st.f_frsize / 2 ** 30))
    else:
        check_core(env, agent, pid, maps, reqs, needles)

    tokens = set(r["_card"].encode() for r in reqs if r.get("_card"))
    h.check(ph.grep_needles(spool_files(agent), tokens) == tokens,
            "control: not every card token is in the spool files")
    no_leaks(ph.grep_needles(spool_files(agent), needles), "the spool files (running)")

    unix.close()
    tcp.close()
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    no_leaks(ph.grep_needles(spool_files(agent), needles), "the spool files (stopped)")
    err = agent.stderr()
    h.check("debug:" in err, "the agent did not log at debug")
    no_leaks(ph.grep_needles([agent.stderr_path], needles), "the agent's stderr")
    h.log("spool files %s and %d bytes of stderr: clean" %
          ([os.path.basename(p) for p in spool_files(agent)], len(err)))


if __name__ == "__main__":
    h.run("pos_hygiene", lambda env: body(env, sys.argv[1]))
