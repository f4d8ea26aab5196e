# SPDX-License-Identifier: MIT
"""
The publisher alone (tests/integration/pub_driver.c: real spool, real loop,
real broker, no POS side): a backlog drains completely, in priority order,
with MQTT 5 single events and with MQTT 3.1.1 batches (JSON arrays), and the
retained status says online.

  test_publisher.py PUB_DRIVER
"""

import json
import os
import subprocess
import sys

import harness as h

ROWS = 4000


def driver_conf(env, broker, name, mqtt):
    agent = h.Agent("/bin/false", env.dir, broker, env.pki, mqtt=mqtt, name=name)
    return agent


def run_driver(driver, agent, rows, mode):
    r = subprocess.run([driver, "-c", agent.conf_path, "-n", str(rows), "-m", mode,
                        "-t", "240"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = r.stderr.decode(errors="replace")
    h.check(r.returncode == 0, "pub_driver failed (%d):\n%s" % (r.returncode, err))
    summary = json.loads(r.stdout.decode().strip().splitlines()[-1])
    return summary, err


def body(env, driver):
    broker = h.Broker(env.dir, env.pki, plain=True)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)

    # 1. MQTT 5, one event per message, mixed classes
    a = driver_conf(env, broker, "v5", {"protocol": "5"})
    summary, err = run_driver(driver, a, ROWS, "mix")
    h.log("MQTT 5, %d rows: %s" % (ROWS, summary))
    h.check(summary["published"] == ROWS, "published %s != %d" % (summary["published"], ROWS))
    h.wait_until(lambda: len(sub.events()) >= ROWS, 60, "%d events at the subscriber" % ROWS)
    evs = sub.events()
    seqs = [ev["seq"] for _, ev in evs]
    h.check(set(seqs) == set(range(ROWS)), "missing sequence numbers")
    h.check(len(seqs) == ROWS, "duplicates without any failure: %d" % (len(seqs) - ROWS))
    for topic, ev in evs:
        want = "%s/%s/%s/%s/events/%s" % (h.PREFIX, h.TENANT, h.STORE, h.GATEWAY, ev["type"])
        h.check(topic == want, "topic %s for a %s event" % (topic, ev["type"]))
    # priority: purchases and loyalty scans (0) before footfall (1) before presence (2)
    order = [ev["type"] for _, ev in evs]
    rank = {"purchase": 0, "loyalty_scan": 0, "footfall": 1, "presence": 2}
    inversions = sum(1 for x, y in zip(order, order[1:]) if rank[x] > rank[y])
    h.check(inversions == 0, "%d priority inversions in a backlog drain" % inversions)
    # oldest first within a priority
    for cls in rank:
        s = [ev["seq"] for _, ev in evs if ev["type"] == cls]
        h.check(s == sorted(s), "%s events out of order" % cls)
    st = [s for t, s, r in sub.statuses() if s.get("status") == "online"]
    h.check(st and st[-1]["key_ids"] == ["v1"], "no online status with key_ids: %s" % st)
    h.check("connected to 127.0.0.1" in err, "no 'connected' line:\n" + err)

    # 2. MQTT 3.1.1 with batches of 10: JSON arrays
    before = len(sub.snapshot())
    b = driver_conf(env, broker, "v311", {"protocol": "3.1.1", "batch": "10"})
    summary, err = run_driver(driver, b, ROWS, "purchase")
    h.log("MQTT 3.1.1, batch 10, %d rows: %s" % (ROWS, summary))
    h.check(summary["published"] == ROWS, "published %s != %d" % (summary["published"], ROWS))
    h.wait_until(lambda: len(sub.events()) >= 2 * ROWS, 60, "batched events")
    msgs = [m for m in sub.snapshot()[before:] if "/events/" in m[0]]
    arrays = [json.loads(p) for _, p, _ in msgs]
    h.check(all(isinstance(a, list) for a in arrays), "batched payload is not an array")
    h.check(max(len(a) for a in arrays) == 10, "no full batch of 10")
    h.check(len(arrays) <= ROWS // 10 + 40, "%d messages for %d rows" % (len(arrays), ROWS))
    seqs = [ev["seq"] for a in arrays for ev in a]
    h.check(sorted(seqs) == list(range(ROWS)), "batched rows missing or duplicated")

    # 3. tls = off (a broker on the same machine): plaintext, MQTT 5
    before = len(sub.events())
    p = driver_conf(env, broker, "plain", {"tls": "off", "port": str(broker.plain_port),
                                            "ca_file": None, "cert_file": None,
                                            "key_file": None})
    summary, err = run_driver(driver, p, 500, "mix")
    h.log("tls = off, 500 rows: %s" % summary)
    h.check(summary["published"] == 500, "plaintext: published %s" % summary["published"])
    h.check("(MQTT 5, plaintext)" in err, "no plaintext 'connected' line:\n" + err)
    h.wait_until(lambda: len(sub.events()) >= before + 500, 60, "plaintext events")

    # 4. a spool that is already empty: nothing is sent, the driver ends
    c = driver_conf(env, broker, "empty", {})
    summary, _ = run_driver(driver, c, 0, "purchase")
    h.check(summary["published"] == 0, "published rows from an empty spool")
    for d in (a, b):
        h.check(d.spool_depth() == 0, "rows left in %s" % d.dir)


if __name__ == "__main__":
    drv = os.path.abspath(sys.argv[1])
    h.run("publisher", lambda env: body(env, drv))
