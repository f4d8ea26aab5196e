# SPDX-License-Identifier: MIT
"""
TLS failures: the agent trusts the wrong CA; the broker's certificate is for
another host name; the agent's client certificate comes from a CA the broker
does not accept; the client certificate file is missing. Each time: no
connection, exactly one clear log line however many times the agent retries,
the events acknowledged to the POS stay in the spool, and they all go out
once the configuration is fixed and the agent restarted.

  test_tls_failures.py STORELINKD
"""

import os
import random
import re
import sys

import harness as h

EVENTS = 20
RETRIES = 4     # attempts to watch before judging the log


def scenario(env, storelinkd, name, sub, broker, bad_mqtt, expect, good_broker=None):
    h.log("scenario: %s" % name)
    connections = broker.agent_connections()
    agent = h.Agent(storelinkd, env.dir, broker, env.pki, mqtt=bad_mqtt, name=name)
    agent.start()
    env.cleanup.append(agent.kill)
    pos = h.PosClient(agent.pos_path)
    reqs = h.make_requests(EVENTS, random.Random(name))
    replies = pos.send_many(h.wire(reqs))
    pos.close()
    h.check(all(r.get("ok") for r in replies), "POS errors: %s" % replies)
    ids = set(r["id"] for r in replies)

    # let it retry a few times: the log must not grow a line per attempt
    h.wait_until(lambda: agent.status()["mqtt"]["reconnects"] >= RETRIES, 60,
                 "%d connection attempts" % RETRIES)
    st = agent.status()
    h.check(not st["mqtt"]["connected"], "connected despite %s" % name)
    h.check(st["mqtt"]["last_error"] and re.search(expect, st["mqtt"]["last_error"]),
            "status last_error %r does not match %r" % (st["mqtt"]["last_error"], expect))
    lines = [l for l in agent.stderr().splitlines() if "mqtt:" in l]
    warn = [l for l in lines if "storelinkd: warn:" in l or "storelinkd: error:" in l]
    h.check(len(warn) == 1, "expected one warning line, got:\n" + "\n".join(lines))
    h.check(re.search(expect, warn[0]), "log line %r does not match %r" % (warn[0], expect))
    h.log("  %d attempts, one line: %s" % (st["mqtt"]["reconnects"] + 1,
                                          warn[0].split("mqtt: ", 1)[1]))
    h.check(not ids & set(sub.event_ids()), "events got through despite %s" % name)
    h.check(broker.agent_connections() == connections, "the broker saw the agent connect")
    h.check(agent.spool_ids() == ids, "the spool does not hold the %d events" % EVENTS)
    h.check(st["spool"]["depth"] == EVENTS, "status spool depth %s" % st["spool"]["depth"])

    # fix the configuration, restart: everything goes out
    h.check(agent.stop() == 0, "storelinkd did not stop cleanly")
    if good_broker:
        broker.stop()
        good_broker()
    agent.configure({})
    agent.start()
    h.wait_until(lambda: ids <= set(sub.event_ids()), 60, "the spooled events after the fix")
    h.wait_until(lambda: agent.spool_depth() == 0, 30, "an empty spool")
    h.check(broker.agent_connections() > connections, "the broker log shows no connection")
    h.check(agent.stop() == 0, "storelinkd did not stop cleanly")


def body(env, storelinkd):
    pki = env.pki
    broker = h.Broker(env.dir, pki)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, pki, persistent=True, client_id="cdp-tls")
    sub.start()
    env.cleanup.append(sub.stop)

    scenario(env, storelinkd, "wrong-ca", sub, broker,
             {"ca_file": pki.path("ca2", "crt")},
             r"TLS: the broker's certificate is not trusted")
    scenario(env, storelinkd, "client-cert-other-ca", sub, broker,
             {"cert_file": pki.path("client_ca2", "crt"),
              "key_file": pki.path("client_ca2", "key")},
             r"TLS: the broker ended the handshake .*: does it accept the client certificate")
    scenario(env, storelinkd, "client-cert-missing", sub, broker,
             {"cert_file": os.path.join(env.dir, "no-such-client.crt")},
             r"\[mqtt\] cert_file .*no-such-client.crt: No such file")

    # the broker presents a certificate for another host name
    # (the subscriber, which checks host names too, stays out until the fix)
    broker.stop()
    h.wait_until(lambda: not sub.subscribed.is_set(), 30, "the subscriber to notice")
    broker.server = "server_other"
    broker.start()

    def good():
        broker.server = "server"
        broker.start()
        sub.wait_subscribed()

    scenario(env, storelinkd, "other-host-name", sub, broker, {},
             r"does not match the host name '127\.0\.0\.1'", good_broker=good)


if __name__ == "__main__":
    h.run("tls_failures", lambda env: body(env, sys.argv[1]))
