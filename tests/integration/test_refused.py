# SPDX-License-Identifier: MIT
"""
A broker that refuses to take some messages (MQTT 5 PUBACK "not authorized":
the ACL denies the loyalty_scan topic): purchases keep flowing, loyalty scans
stay in the spool, the refusal is logged once however often it is retried,
the retries back off, and once the ACL is fixed (SIGHUP re-reads it) the
held events go out, without duplicating what was already delivered.

  test_refused.py STORELINKD
"""

import collections
import random
import sys

import harness as h

N = 400


def body(env, storelinkd):
    deny = "%s/+/+/+/events/loyalty_scan" % h.PREFIX
    broker = h.Broker(env.dir, env.pki, acl_deny=deny, debug_log=True)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)
    agent = h.Agent(storelinkd, env.dir, broker, env.pki,
                    mqtt={"backoff_min_ms": "100", "backoff_max_ms": "400"})
    agent.start()
    env.cleanup.append(agent.kill)

    reqs = h.make_requests(N, random.Random(6))
    pos = h.PosClient(agent.pos_path)
    replies = pos.send_many(h.wire(reqs))
    pos.close()
    h.check(all(r.get("ok") for r in replies), "POS errors")
    by_type = collections.defaultdict(set)
    for req, rep in zip(reqs, replies):
        by_type[req["type"]].add(rep["id"])

    h.wait_until(lambda: by_type["purchase"] <= set(sub.event_ids()), 60, "the purchases")
    # mosquitto 2.0 answers a denied PUBLISH with PUBACK 0x87 and then closes
    # the connection (eclipse-mosquitto/mosquitto#2579): the agent holds the
    # class back and probes it with one message per backoff interval
    denied = lambda: broker.log().count("Denied PUBLISH from storelink-%s-%s" %
                                        (h.STORE, h.GATEWAY))
    h.wait_until(lambda: denied() >= 4, 60, "three probes after the first refusal")

    def warnings():
        return [l for l in agent.stderr().splitlines()
                if "storelinkd: warn:" in l or "storelinkd: error:" in l]

    first = warnings()
    h.wait_until(lambda: denied() >= 8, 60, "more probes")
    lines = warnings()
    h.check(lines == first, "the log grows with the retries:\n" + "\n".join(lines))
    refusals = [l for l in lines if "Not authorized" in l]
    h.check(len(refusals) == 1 and "refused loyalty_scan" in refusals[0],
            "expected one refusal line:\n" + "\n".join(lines))
    h.check(len(lines) <= 3, "too many warnings:\n" + "\n".join(lines))
    h.check(not by_type["loyalty_scan"] & set(sub.event_ids()), "denied events arrived")
    h.check(by_type["loyalty_scan"] <= agent.spool_ids(), "refused events left the spool")
    h.log("%d denied publishes for %d held events; warnings:\n  %s" %
          (denied(), len(by_type["loyalty_scan"]),
           "\n  ".join(l.split("mqtt: ", 1)[1] for l in lines)))

    broker.write_acl(None)
    broker.reload()
    h.wait_until(lambda: by_type["loyalty_scan"] <= set(sub.event_ids()), 60,
                 "the held loyalty scans after the ACL fix")
    h.wait_until(lambda: agent.status()["spool"]["depth"] == 0, 30, "an empty spool")
    ids = sub.event_ids()
    h.check(len(set(ids)) == N, "%d distinct ids for %d events" % (len(set(ids)), N))
    h.log("after the fix: %d messages for %d events (%d duplicates from the dropped "
          "connections)" % (len(ids), N, len(ids) - N))
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")


if __name__ == "__main__":
    h.run("refused", lambda env: body(env, sys.argv[1]))
