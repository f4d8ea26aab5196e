# SPDX-License-Identifier: MIT
"""
SIGKILL in the middle of a POS stream, five times, then a last clean round:
a Unix and an authenticated TCP client pipeline requests (64 in flight
each) while the agent is killed at a random point; the agent is restarted
each time ([spool] sync alternating normal / full: both must survive a
kill -9). Every id that was ever acknowledged is in the spool after each
restart, with the event of the request it acknowledged; the only extra rows
are requests that were committed but whose reply the kill swallowed (at most
what was in flight). No broker answers, so nothing leaves the spool.

  test_pos_kill.py STORELINKD
"""

import sys
import threading

import harness as h
import pos_harness as ph

KILLS = 5
WINDOW = 64
PER_CLIENT = 4000      # requests a client has for one round (it stops at the kill)


def client(agent, tcp, reqs, acked, state, window=WINDOW):
    """Pipelines reqs until done or the connection dies; acked: (id, req)."""
    state.update(sent=0, answered=0, error=None, done=False)
    try:
        c = agent.conn(tcp=tcp, timeout=60)
    except OSError:
        state["done"] = True
        return
    try:
        for i in range(0, len(reqs), window):
            chunk = reqs[i:i + window]
            c.send_raw(b"".join(ph.wire_line(r) for r in chunk))
            state["sent"] += len(chunk)
            for r in chunk:
                rep = c.reply()
                state["answered"] += 1
                if not rep.get("ok"):
                    state["error"] = "not acknowledged: %r" % rep
                    return
                acked.append((rep["id"], r))
    except (OSError, ConnectionError):
        pass     # killed under us: what was sent and not answered is unknown
    finally:
        state["done"] = True
        c.close()


def body(env, storelinkd):
    agent = ph.PosAgent(storelinkd, env.dir, env.pki)
    env.cleanup.append(agent.kill)
    rng = ph.rng_for("pos_kill")
    acked = []          # (id, request), appended by the client threads
    unanswered = 0
    tag = 0

    for rnd in range(KILLS + 1):
        sync = "normal" if rnd % 2 == 0 else "full"
        agent.set_spool(sync=sync)
        agent.start()
        # everything acknowledged before the last kill survived it
        before = dict(acked)
        rows = ph.spool_rows(agent.spool_path())
        lost = set(before) - set(rows)
        h.check(not lost, "round %d: %d acknowledged events lost by the kill" % (rnd, len(lost)))

        last = rnd == KILLS
        states = [{}, {}]
        threads = []
        for k, tcp in enumerate((False, True)):
            tag += 1
            n = 1000 if last else PER_CLIENT
            reqs = ph.pos_requests(n, rng, agent.master_hex, tag="R%d" % tag)
            threads.append(threading.Thread(target=client,
                                            args=(agent, tcp, reqs, acked, states[k])))
        start_acked = len(acked)
        for t in threads:
            t.start()
        if not last:
            target = start_acked + rng.randrange(300, 3000)
            h.wait_until(lambda: len(acked) >= target or all(s.get("done") for s in states),
                         120, "acknowledgements in round %d" % rnd)
            agent.kill()
        for t in threads:
            t.join(timeout=120)
            h.check(not t.is_alive(), "a POS client hung")
        for s in states:
            h.check(not s["error"], "round %d: %s" % (rnd, s["error"]))
            unanswered += s["sent"] - s["answered"]
        h.log("round %d (sync %s): %s after %d acknowledgements in the round, %d in all" %
              (rnd, sync, "clean" if last else "SIGKILL", len(acked) - start_acked, len(acked)))
        h.check(agent.alive() == last, "agent state after round %d" % rnd)

    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    rows = ph.spool_rows(agent.spool_path())
    ids = dict(acked)
    h.check(len(ids) == len(acked), "an id was acknowledged twice")
    lost = set(ids) - set(rows)
    h.check(not lost, "%d acknowledged events are not in the spool" % len(lost))
    for i, req in ids.items():
        ph.check_event(req, rows[i])
    extra = len(rows) - len(ids)
    h.check(0 <= extra <= unanswered, "%d rows nobody was told about, but only %d requests "
            "were unanswered" % (extra, unanswered))
    h.check(ph.spool_integrity(agent.spool_path()) == "ok", "spool integrity check failed")
    h.log("%d kills: %d acknowledged, all in the spool; %d more rows committed whose reply "
          "the kill swallowed (of %d unanswered)" % (KILLS, len(ids), extra, unanswered))


if __name__ == "__main__":
    h.run("pos_kill", lambda env: body(env, sys.argv[1]))
