# SPDX-License-Identifier: MIT
"""
Batching with interleaved event types: pub_driver fills a real spool with a
mixed backlog (presence, purchase, loyalty_scan and footfall interleaved)
and drains it through the publisher to a real TLS broker, with MQTT 5 and
3.1.1 and several [mqtt] batch sizes. Checks: every row exactly once; a
message carries one type and its topic names it (a JSON array exactly when
batching); messages in priority order; each type oldest first; and, since
one batch is built per class, batches come out (nearly) full even though
the types are interleaved.

  test_publisher_mixed_batch.py PUB_DRIVER
"""
import json
import os
import subprocess
import sys

import harness as h

ROWS = 4000
RANK = {"purchase": 0, "loyalty_scan": 0, "footfall": 1, "presence": 2}


def drain(env, driver, broker, sub, proto, batch):
    before = len(sub.snapshot())
    ev_before = len(sub.events())
    a = h.Agent("/bin/false", env.dir, broker, env.pki, name="d-%s-%d" % (proto, batch),
                mqtt={"protocol": proto, "batch": str(batch)})
    r = subprocess.run([driver, "-c", a.conf_path, "-n", str(ROWS), "-m", "mix", "-t", "240"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    h.check(r.returncode == 0, r.stderr.decode())
    h.wait_until(lambda: len(sub.events()) >= ev_before + ROWS, 120, "all events at the subscriber")
    msgs = [(t, json.loads(p)) for t, p, _ in sub.snapshot()[before:] if "/events/" in t]
    seqs, last_rank, per_type = [], -1, {}
    for topic, doc in msgs:
        evs = doc if isinstance(doc, list) else [doc]
        h.check(isinstance(doc, list) == (batch > 1), "a JSON array exactly when batching")
        types = {e["type"] for e in evs}
        h.check(len(types) == 1, "mixed types in one message: %s" % types)
        typ = types.pop()
        h.check(topic.endswith("/events/" + typ), "topic %s for %s" % (topic, typ))
        h.check(RANK[typ] >= last_rank, "priority inversion: %s after rank %d" % (typ, last_rank))
        last_rank = RANK[typ]
        h.check(len(evs) <= batch, "batch larger than %d" % batch)
        for e in evs:
            seqs.append(e["seq"])
            per_type.setdefault(typ, []).append(e["seq"])
    h.check(sorted(seqs) == list(range(ROWS)), "rows missing or duplicated")
    for typ, s in per_type.items():
        h.check(s == sorted(s), "%s out of order" % typ)
    # full batches but for the last one of each class per fill pass
    h.check(len(msgs) <= ROWS / batch * 1.15 + 16,
            "%d messages for %d rows with batch %d: batches are not filled" % (len(msgs), ROWS, batch))
    h.log("MQTT %s batch %d: %d rows in %d messages (%.1f per message), order ok"
          % (proto, batch, ROWS, len(msgs), ROWS / len(msgs)))


def body(env, driver):
    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)
    for proto, batch in (("5", 10), ("3.1.1", 10), ("5", 7), ("5", 1)):
        drain(env, driver, broker, sub, proto, batch)


h.run("publisher_mixed_batch", lambda env: body(env, os.path.abspath(sys.argv[1])))
