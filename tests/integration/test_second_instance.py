# SPDX-License-Identifier: MIT
"""
A second storelinkd must not take over a running one (issue 10, item 1):

1. agent A runs; B with the same configuration exits non-zero saying
   "already running (pid A)", and A's pos.sock and control.sock are the same
   files as before and still answer (a purchase is acknowledged, status
   works) after B exited;
2. B with its own state_dir but A's POS socket path is refused
   ("another process answers on it") without removing A's socket;
3. A killed with SIGKILL leaves pos.sock, control.sock and the lock file
   behind; the next start replaces the stale sockets and runs.

  test_second_instance.py STORELINKD
"""

import os
import re
import subprocess
import sys

import harness as h

PURCHASE = {"type": "purchase", "lane": "1", "txn_id": "T-1", "pan": "4111111111111111",
            "amount": "1.00", "currency": "EUR"}


def run_b(storelinkd, conf, log_path):
    """Runs B to its end (it must refuse, so it must end); returns (rc, stderr)."""
    with open(log_path, "w") as errf:
        p = subprocess.Popen([storelinkd, "-c", conf], stdout=errf, stderr=errf)
        try:
            rc = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            rc = None
    with open(log_path, errors="replace") as f:
        return rc, f.read()


def inode(path):
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def answers(agent, label):
    pos = h.PosClient(agent.pos_path, timeout=30)
    try:
        rep = pos.send_many([PURCHASE])[0]
    finally:
        pos.close()
    h.check(rep.get("ok") is True, "%s: POS reply %r" % (label, rep))
    st = agent.status()
    h.check(st.get("store") == h.STORE, "%s: status %r" % (label, st))


def body(env, storelinkd):
    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    a = h.Agent(storelinkd, env.dir, broker, env.pki, name="a")
    a.start()
    env.cleanup.append(a.kill)
    h.wait_until(lambda: os.path.exists(a.ctl_path), 60, "A's control socket")
    answers(a, "A at start")
    before = (inode(a.pos_path), inode(a.ctl_path))

    # 1. same configuration
    rc, err = run_b(storelinkd, a.conf_path, os.path.join(a.dir, "b-same.log"))
    h.check(rc is not None, "B with A's configuration kept running:\n" + err)
    h.check(rc != 0, "B with A's configuration exited 0:\n" + err)
    h.check(re.search(r"already running \(pid %d\)" % a.proc.pid, err),
            "B's stderr does not name A's pid %d:\n%s" % (a.proc.pid, err))
    h.check(a.alive(), "A died")
    h.check((inode(a.pos_path), inode(a.ctl_path)) == before,
            "B replaced A's socket files")
    answers(a, "A after B (same config)")
    with open(os.path.join(a.state_dir, "storelinkd.lock")) as f:
        h.check(f.read().strip() == str(a.proc.pid), "lock file does not hold A's pid")
    h.log("B (same config) refused: %s" % err.strip().splitlines()[-1])

    # 2. another state_dir, A's POS socket
    b_state = os.path.join(env.dir, "b-state")
    b_conf = os.path.join(env.dir, "b.conf")
    with open(a.conf_path) as f:
        text = f.read()
    with open(b_conf, "w") as f:
        f.write(text.replace("state_dir = %s" % a.state_dir, "state_dir = %s" % b_state))
    rc, err = run_b(storelinkd, b_conf, os.path.join(a.dir, "b-pos.log"))
    h.check(rc is not None and rc != 0, "B with A's POS socket was not refused (%s):\n%s" %
            (rc, err))
    h.check("another process answers on it" in err, "B's error does not say why:\n" + err)
    h.check(a.alive(), "A died")
    h.check((inode(a.pos_path), inode(a.ctl_path)) == before,
            "B removed or replaced A's socket files")
    h.check(not os.path.exists(os.path.join(b_state, "control.sock")),
            "B left its control socket behind")
    answers(a, "A after B (shared POS socket)")
    h.log("B (own state_dir, A's POS socket) refused: %s" %
          [l for l in err.splitlines() if "answers on it" in l][0])

    # 3. kill -9 leaves stale files; the next start replaces them
    a.kill()
    h.check(os.path.exists(a.pos_path) and os.path.exists(a.ctl_path),
            "SIGKILL should leave the socket files (the test needs them)")
    with open(a.stderr_path, "a") as errf:
        a.proc = subprocess.Popen([storelinkd, "-c", a.conf_path], stdout=errf, stderr=errf)

    def up():
        if a.proc.poll() is not None:
            raise h.TestFailure("restart after SIGKILL exited with %d:\n%s" %
                                (a.proc.returncode, a.stderr()))
        try:
            answers(a, "restart")
            return True
        except (OSError, ValueError):
            return False
    h.wait_until(up, 60, "the restarted agent answering on the old socket paths")
    # (no inode comparison: the new socket file may well reuse the old inode number)
    h.check(a.stop() == 0, "storelinkd did not exit cleanly")
    h.check(not os.path.exists(a.pos_path) and not os.path.exists(a.ctl_path),
            "a clean stop leaves socket files")
    h.log("stale sockets after SIGKILL replaced at the next start")


if __name__ == "__main__":
    h.run("second_instance", lambda env: body(env, sys.argv[1]))
