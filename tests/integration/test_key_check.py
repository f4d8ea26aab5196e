# SPDX-License-Identifier: MIT
"""
Key check values (docs/tokens.md section 7): the gateway's public
fingerprint of its key, computed independently (harness.kcv: hmac, hashlib), must be
what `storelinkctl status` shows (keys.key_check), what the retained status
message carries (key_checks, in key_ids' order) and what
`storelinkctl keygen --tenant` prints for the key it writes.

  test_key_check.py STORELINKD STORELINKCTL
"""

import os
import subprocess
import sys

import harness as h


def body(env, storelinkd, storelinkctl):
    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)

    agent = h.Agent(storelinkd, env.dir, broker, env.pki)
    agent.start()
    env.cleanup.append(agent.kill)
    want = h.kcv(agent.master_hex, h.TENANT)
    # the control socket opens just after the POS socket that start() waits for
    status = []

    def ready():
        try:
            status.append(agent.status())
            return True
        except OSError:
            return False
    h.wait_until(ready, 60, "the control socket")
    keys = status[-1]["keys"]
    h.check(keys["key_check"] == want, "status key_check %r, expected %r" % (keys, want))
    h.check(keys["next_key_check"] is None, "next_key_check without a rotation: %r" % keys)

    def online():
        return [s for _, s, _ in sub.statuses() if s.get("status") == "online"]
    h.wait_until(lambda: online(), 60, "the retained online status")
    st = online()[-1]
    h.check(st["key_ids"] == ["v1"] and st["key_checks"] == [want],
            "status message key_ids/key_checks: %r" % st)
    h.check(want in agent.stderr(), "the start line does not name the key check value")
    h.check(agent.stop() == 0, "storelinkd did not stop cleanly")

    # keygen --tenant prints the check value of the key it wrote
    path = os.path.join(env.dir, "new.key")
    r = subprocess.run([storelinkctl, "keygen", "--tenant", "acme", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    h.check(r.returncode == 0, "keygen failed: %s" % r.stderr.decode())
    with open(path) as f:
        master_hex = f.read().strip()
    out = r.stdout.decode()
    h.check(master_hex not in out, "keygen printed the key")
    h.check("key check value (tenant acme): %s\n" % h.kcv(master_hex, "acme") in out,
            "keygen output %r" % out)
    h.log("key check values agree: %s" % want)


if __name__ == "__main__":
    h.run("key_check", lambda env: body(env, sys.argv[1], sys.argv[2]))
