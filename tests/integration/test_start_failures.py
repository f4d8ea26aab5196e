# SPDX-License-Identifier: MIT
"""
Start-up error paths release what they took (issue 10, item 15), with an
LD_PRELOAD fault shim (fault_shim.c):

1. adding the signalfd to the loop fails: storelinkd exits non-zero and the
   signalfd is closed before exit;
2. chmod of the control socket fails: storelinkd exits non-zero and leaves
   no control.sock behind (nor its POS socket); the next start without the
   fault runs.

  test_start_failures.py STORELINKD FAULT_SHIM
"""

import os
import subprocess
import sys

import harness as h


def run(agent, shim, fault):
    env = dict(os.environ, LD_PRELOAD=shim, SL_SHIM=fault)
    # an ASan build wants its runtime first in the library list
    env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                 "verify_asan_link_order=0"]))
    p = subprocess.Popen([agent.binary, "-c", agent.conf_path], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env)
    try:
        out, _ = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        raise h.TestFailure("storelinkd with fault %s kept running:\n%s" %
                            (fault, out.decode(errors="replace")))
    out = out.decode(errors="replace")
    h.check("sl-shim:" in out, "the fault shim was not loaded:\n" + out)
    return p.returncode, out


def body(env, storelinkd, shim):
    h.check(os.path.exists(shim), "no fault shim at %s" % shim)
    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    agent = h.Agent(storelinkd, env.dir, broker, env.pki)

    rc, out = run(agent, shim, "epoll_signalfd")
    h.check(rc != 0, "storelinkd ran although its signalfd could not be watched:\n" + out)
    h.check("signals:" in out, "no 'signals:' error:\n" + out)
    h.check("sl-shim: open signalfds at exit: 0" in out, "signalfd leaked:\n" + out)
    h.log("signalfd add failure: exit %d, signalfd closed" % rc)

    rc, out = run(agent, shim, "chmod_control")
    h.check(rc != 0, "storelinkd ran although chmod of its control socket failed:\n" + out)
    h.check("chmod" in out, "no chmod error:\n" + out)
    h.check(not os.path.lexists(agent.ctl_path), "control.sock left behind:\n" + out)
    h.check(not os.path.lexists(agent.pos_path), "pos.sock left behind:\n" + out)
    h.log("control chmod failure: exit %d, no socket files left" % rc)

    agent.start()
    env.cleanup.append(agent.kill)
    h.wait_until(lambda: os.path.exists(agent.ctl_path), 60, "the control socket")
    h.check(agent.status()["store"] == h.STORE, "status after the failed starts")
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")


if __name__ == "__main__":
    h.run("start_failures", lambda env: body(env, sys.argv[1], sys.argv[2]))
