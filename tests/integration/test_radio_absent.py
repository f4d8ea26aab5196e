# SPDX-License-Identifier: MIT
"""
A radio adapter that is not there (no Bluetooth controller hci0, no Wi-Fi
interface) is a warning, not a start failure: the agent starts, takes POS
events, says once per source that it waits for the adapter, keeps retrying
with backoff (status: sightings reopen attempts), and --check-config passes.
This machine has no Bluetooth or Wi-Fi hardware, so both are really absent.

  test_radio_absent.py STORELINKD
"""

import random
import subprocess
import sys

import harness as h


def body(env, storelinkd):
    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)

    agent = h.Agent(storelinkd, env.dir, broker, env.pki)
    with open(agent.conf_path, "a") as f:
        f.write("\n[ble]\nsource = hci:hci0\n\n[wifi]\nsource = pcap:slnone%d\n" %
                random.randrange(1000))
    r = subprocess.run([storelinkd, "-c", agent.conf_path, "--check-config"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    h.check(r.returncode == 0, "--check-config refused an absent adapter:\n%s" %
            r.stdout.decode())
    agent.start()
    env.cleanup.append(agent.kill)

    pos = h.PosClient(agent.pos_path)
    replies = pos.send_many(h.wire(h.make_requests(10, random.Random(3))))
    pos.close()
    h.check(all(r.get("ok") for r in replies), "POS errors: %s" % replies)
    ids = set(r["id"] for r in replies)
    h.wait_until(lambda: ids <= set(sub.event_ids()), 60, "the POS events at the broker")

    def waiting(medium):
        return [l for l in agent.stderr().splitlines()
                if "warn: [%s] source" % medium in l and "waiting for it" in l]
    for medium in ("ble", "wifi"):
        h.wait_until(lambda: waiting(medium), 30, "the %s warning" % medium)
    # it keeps trying (backoff from 1 s), and says so once per source
    h.wait_until(lambda: all(agent.status()["sightings"][m]["attempts"] >= 3
                             for m in ("ble", "wifi")), 60, "three attempts per source")
    st = agent.status()["sightings"]
    h.log("sightings status: %s" % {m: st[m] for m in ("ble", "wifi")})
    h.check(all(st[m]["state"] == "waiting" for m in ("ble", "wifi")), "state: %s" % st)
    h.check(agent.proc.poll() is None, "storelinkd exited")
    h.check(agent.stop() == 0, "storelinkd did not stop cleanly")
    lines = [l for l in agent.stderr().splitlines() if "warn:" in l or "error:" in l]
    h.check(len([l for l in lines if "[ble]" in l or "ble:" in l]) == 1 and
            len([l for l in lines if "[wifi]" in l or "wifi:" in l]) == 1,
            "expected one warning per source:\n" + "\n".join(lines))


if __name__ == "__main__":
    h.run("radio_absent", lambda env: body(env, sys.argv[1]))
