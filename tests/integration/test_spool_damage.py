# SPDX-License-Identifier: MIT
"""
Spool damage matrix: a spool of 2,000 acknowledged events is damaged in six
ways and the agent started on it; the test counts the events that end up in
the agent's fresh spool against what an independent reading says can be
recovered, checks that every one of them is bit-identical to the original,
that the damaged files are kept as spool.db.corrupt-<time>[-wal] and that
the log line reports the count (docs/spool.md "Damaged file").

The spool is written by Python's sqlite3 in the agent's schema, in
transactions of 20 rows. "Before a checkpoint" copies the files while the
writer still has them open, with automatic checkpoints off: spool.db holds
only its first page and everything is in the WAL (what kill -9 leaves).
"After a checkpoint" closes the writer first (no WAL).

  before  truncate spool.db to 0    all 2,000 (rebuilt from the WAL by hand)
  before  truncate the WAL          the transactions whose frames are whole
  before  flip a byte in a frame    all but the rows only that frame held,
                                    and every row after the break
  after   truncate spool.db to half the rows on the leaf pages that remain
                                    (SQLite's dbstat on the intact copy)
  after   flip 16 page-type bytes   all 2,000 (SQLite's check refuses the file)
  after   flip 16 payload bytes     (SQLite notices nothing: the file is used as is)

  test_spool_damage.py STORELINKD
"""

import glob
import json
import os
import re
import shutil
import sqlite3
import sys
import uuid

import harness as h
import pos_harness as ph

N = 2000
TXN = 20
FRAME = 24 + 4096

SCHEMA = """
CREATE TABLE events(rowid INTEGER PRIMARY KEY, prio INTEGER NOT NULL, class INTEGER NOT NULL,
 id TEXT NOT NULL, type TEXT NOT NULL, created_us INTEGER NOT NULL, payload BLOB NOT NULL);
CREATE INDEX events_prio ON events(prio, rowid);
PRAGMA application_id = %d;
PRAGMA user_version = 1;
""" % 0x534c5350


def rows_for(rng):
    out = []
    for i in range(1, N + 1):
        eid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        ev = {"schema": "storelink.event/1", "id": eid, "type": "purchase",
              "ts": "2026-12-01T10:00:00.000Z", "clock": "synced", "tenant": h.TENANT,
              "store": h.STORE, "gateway": h.GATEWAY, "zone": "lane-%d" % (i % 12),
              "ids": {"card": "v1." + "".join(rng.choice("abcdefghij") for _ in range(43))},
              "txn": {"id": "D-%d" % i, "amount": "%d.00" % (i % 500), "currency": "EUR"},
              "pad": "x" * rng.randrange(150, 250)}
        out.append((i, eid, json.dumps(ev, separators=(",", ":")).encode()))
    return out


def write_spool(d, rows, checkpoint):
    """Writes spool.db (+ -wal) into d; returns the WAL size after each
    transaction [(size, rows committed so far)]."""
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "spool.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.executescript(SCHEMA)
    sizes = []
    for k in range(0, len(rows), TXN):
        db.execute("BEGIN IMMEDIATE")
        for rowid, eid, payload in rows[k:k + TXN]:
            db.execute("INSERT INTO events VALUES(?, 0, 0, ?, 'purchase', ?, ?)",
                       (rowid, eid, 1764583200000000 + rowid, payload))
        db.execute("COMMIT")
        sizes.append((os.path.getsize(path + "-wal"), k + TXN))
    out = os.path.join(d, "copy")
    os.makedirs(out)
    if checkpoint:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        shutil.copy(path, out)
    else:
        # the writer still has them open: what kill -9 leaves
        shutil.copy(path, out)
        shutil.copy(path + "-wal", out)
        db.close()
    return os.path.join(out, "spool.db"), sizes


def leaf_pages(path):
    """[(pageno, cells)] of the events table's leaf pages (SQLite's dbstat)."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute("SELECT pageno, ncell FROM dbstat WHERE name = 'events' AND "
                          "pagetype = 'leaf' ORDER BY pageno").fetchall()
    finally:
        db.close()


def flip(path, offsets):
    with open(path, "r+b") as f:
        for off in offsets:
            f.seek(off)
            b = f.read(1)
            f.seek(off)
            f.write(bytes([b[0] ^ 0xff]))


def run_case(env, storelinkd, name, src, originals, expect, expect_damaged):
    """Starts an agent on a copy of src (+ -wal); returns the rows recovered.
    expect: an int (exact) or a (min, max) pair."""
    agent = ph.PosAgent(storelinkd, env.dir, env.pki, tcp=False, name="agent-" + name)
    env.cleanup.append(agent.kill)
    os.makedirs(agent.state_dir, exist_ok=True)
    dst = agent.spool_path()
    shutil.copy(src, dst)
    if os.path.exists(src + "-wal"):
        shutil.copy(src + "-wal", dst + "-wal")
    agent.start()
    rows = ph.spool_rows(dst)
    err = agent.stderr()
    h.check(agent.stop() == 0, "%s: storelinkd did not exit cleanly" % name)
    for eid, payload in rows.items():
        h.check(originals.get(eid) == payload, "%s: recovered event %s differs from the "
                "original" % (name, eid))
    lo, hi = (expect, expect) if isinstance(expect, int) else expect
    h.check(lo <= len(rows) <= hi, "%s: %d events in the spool, expected %s" %
            (name, len(rows), expect if isinstance(expect, int) else "%d..%d" % expect))
    m = re.search(r"was damaged \((.*?)\): moved aside as (\S+) \(and -wal\); recovered (\d+) "
                  r"events", err)
    if expect_damaged:
        h.check(m, "%s: no 'damaged ... recovered' log line:\n%s" % (name, err))
        h.check(int(m.group(3)) == len(rows), "%s: the log says %s recovered, the spool has %d"
                % (name, m.group(3), len(rows)))
        aside = glob.glob(dst + ".corrupt-*")
        h.check(any(not p.endswith(("-wal", "-shm")) for p in aside),
                "%s: the damaged database was not kept: %s" % (name, aside))
        if os.path.exists(src + "-wal"):
            h.check(any(p.endswith("-wal") for p in aside),
                    "%s: the damaged WAL was not kept: %s" % (name, aside))
        h.log("%s: %d of %d events recovered (%s)" % (name, len(rows), N, m.group(1)))
    else:
        h.check(not m and "damaged" not in err, "%s: reported damaged:\n%s" % (name, err))
        h.log("%s: %d of %d events, not damaged" % (name, len(rows), N))
    return len(rows)


def body(env, storelinkd):
    rng = ph.rng_for("spool_damage")
    rows = rows_for(rng)
    originals = {eid: payload for _, eid, payload in rows}
    work = os.path.join(env.dir, "work")

    # -- before a checkpoint: everything in the WAL ------------------------------------
    src, sizes = write_spool(os.path.join(work, "b1"), rows, checkpoint=False)
    h.check(os.path.getsize(src) <= 4096, "the database file holds more than its first page")
    os.truncate(src, 0)
    run_case(env, storelinkd, "wal-only-db-truncated", src, originals, N, True)

    src, sizes = write_spool(os.path.join(work, "b2"), rows, checkpoint=False)
    cut = sizes[len(sizes) * 3 // 5][0] + FRAME // 2 + 1000
    whole = max(n for size, n in sizes if size <= cut)
    os.truncate(src + "-wal", cut)
    run_case(env, storelinkd, "wal-truncated", src, originals, whole, False)

    src, sizes = write_spool(os.path.join(work, "b3"), rows, checkpoint=False)
    nframes = (os.path.getsize(src + "-wal") - 32) // FRAME
    bad = nframes // 2
    flip(src + "-wal", [32 + bad * FRAME + 24 + 2000])
    got = run_case(env, storelinkd, "wal-frame-flipped", src, originals, (N - 20, N), True)

    # -- after a checkpoint: no WAL ----------------------------------------------------
    src, _ = write_spool(os.path.join(work, "a1"), rows, checkpoint=True)
    leaves = leaf_pages(src)
    npages = os.path.getsize(src) // 4096
    keep = npages // 2
    expect = sum(n for p, n in leaves if p <= keep)
    os.truncate(src, keep * 4096)
    run_case(env, storelinkd, "db-truncated-half", src, originals, expect, True)

    src, _ = write_spool(os.path.join(work, "a2"), rows, checkpoint=True)
    leaves = leaf_pages(src)
    step = max(len(leaves) // 16, 1)
    victims = [p for p, _ in leaves[::step][:16]]
    flip(src, [(p - 1) * 4096 for p in victims])   # the page-type byte
    run_case(env, storelinkd, "db-page-types-flipped", src, originals, N, True)

    src, _ = write_spool(os.path.join(work, "a3"), rows, checkpoint=True)
    leaves = leaf_pages(src)
    # the last byte of a leaf page is inside its last cell's payload text
    flip(src, [p * 4096 - 1 - k for p, _ in leaves[::step][:8] for k in (40, 41)])
    db = sqlite3.connect(src)
    changed = N - sum(1 for i, p in db.execute("SELECT id, payload FROM events")
                      if originals.get(i) == bytes(p))
    db.close()
    h.check(changed > 0, "the flips changed no payload")
    # SQLite reads such a file without complaint, and so does the agent: the
    # rows are there, changed (SQLite keeps no page checksums)
    agent = ph.PosAgent(storelinkd, env.dir, env.pki, tcp=False, name="agent-payload")
    env.cleanup.append(agent.kill)
    os.makedirs(agent.state_dir, exist_ok=True)
    shutil.copy(src, agent.spool_path())
    agent.start()
    n = len(ph.spool_rows(agent.spool_path()))
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    h.check(n == N and "damaged" not in agent.stderr(), "payload flips: %d rows" % n)
    h.log("payload bytes flipped: %d rows changed, all %d kept, not reported damaged" %
          (changed, n))
    h.log("wal-frame-flipped recovered %d of %d" % (got, N))


if __name__ == "__main__":
    h.run("spool_damage", lambda env: body(env, sys.argv[1]))
