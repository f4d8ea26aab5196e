# SPDX-License-Identifier: MIT
"""
TLS failures: the agent trusts the wrong CA; the broker's certificate is for
another host name, has expired, is not valid yet, or is not a server
certificate (extended key usage clientAuth); the agent's client certificate
comes from a CA the broker does not accept; the client certificate file is
missing. Each time: no connection, exactly one clear log line naming the real
cause (from OpenSSL's verify result) however many times the agent retries,
the events acknowledged to the POS stay in the spool, and they all go out
once the configuration is fixed and the agent restarted. A client key that
group or others may read is refused at start and by --check-config, like the
master key.

  test_tls_failures.py STORELINKD
"""

import os
import random
import re
import subprocess
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


CA_CNF = """[ca]
default_ca = d
[d]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
[ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
subjectAltName = DNS:localhost,IP:127.0.0.1
extendedKeyUsage = %s
"""


def dated_server_cert(pki, name, start, end, eku="serverAuth"):
    """A broker certificate from the test CA with the given validity (openssl
    ca: 'x509 -req' always starts now) and extended key usage."""
    d = os.path.join(pki.dir, "ca-" + name)
    os.makedirs(d)
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(CA_CNF % eku)
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("%02X\n" % random.randrange(16, 250))
    pki._key(name)
    pki._run("req", "-new", "-key", pki.path(name, "key"), "-subj", "/CN=localhost",
             "-out", pki.path(name, "csr"))
    r = subprocess.run(["openssl", "ca", "-batch", "-config", "ca.cnf", "-notext",
                        "-cert", pki.path("ca", "crt"), "-keyfile", pki.path("ca", "key"),
                        "-in", pki.path(name, "csr"), "-out", pki.path(name, "crt"),
                        "-startdate", start, "-enddate", end, "-extensions", "ext"],
                       cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    h.check(r.returncode == 0, "openssl ca %s: %s" % (name, r.stdout.decode()))


def broker_cert_scenario(env, storelinkd, sub, broker, server, expect):
    broker.stop()
    h.wait_until(lambda: not sub.subscribed.is_set(), 30, "the subscriber to notice")
    broker.server = server
    broker.start()

    def good():
        broker.server = "server"
        broker.start()
        sub.wait_subscribed()

    scenario(env, storelinkd, server, sub, broker, {}, expect, good_broker=good)


def key_mode_refused(env, storelinkd, broker):
    """A client key with mode 0644: --check-config and the start refuse it."""
    h.log("scenario: client key readable by others")
    key = os.path.join(env.dir, "client-0644.key")
    with open(env.pki.path("client", "key"), "rb") as src, open(key, "wb") as dst:
        dst.write(src.read())
    os.chmod(key, 0o644)
    agent = h.Agent(storelinkd, env.dir, broker, env.pki, mqtt={"key_file": key},
                    name="key-0644")
    agent.configure({"key_file": key})
    for args in (["--check-config"], []):
        r = subprocess.run([storelinkd, "-c", agent.conf_path] + args, timeout=60,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = r.stdout.decode(errors="replace")
        h.check(r.returncode != 0, "storelinkd %s accepted a 0644 client key:\n%s" %
                (" ".join(args), out))
        h.check(re.search(r"\[mqtt\] key_file:? .*client-0644.key is readable or writable "
                          r"by group or others \(mode 0644\); chmod 600 it", out),
                "storelinkd %s: no clear reason:\n%s" % (" ".join(args), out))
    h.log("  refused: %s" % out.strip().splitlines()[-1])


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

    # the broker's certificate is expired, not valid yet, or not for a server:
    # each named as such (all three used to read "not trusted by ca_file")
    dated_server_cert(env.pki, "server_expired", "20200101000000Z", "20200201000000Z")
    dated_server_cert(env.pki, "server_future", "20991201000000Z", "21000101000000Z")
    dated_server_cert(env.pki, "server_clientauth", "20200101000000Z", "20991231000000Z",
                      eku="clientAuth")
    broker_cert_scenario(env, storelinkd, sub, broker, "server_expired",
                         r"TLS: the broker's certificate \(or one of its chain\) has expired "
                         r"by this gateway's clock \(\d{4}-")
    broker_cert_scenario(env, storelinkd, sub, broker, "server_future",
                         r"TLS: the broker's certificate \(or one of its chain\) is not "
                         r"valid yet by this gateway's clock")
    broker_cert_scenario(env, storelinkd, sub, broker, "server_clientauth",
                         r"TLS: the broker's certificate is not for a TLS server \(its "
                         r"extended key usage lacks serverAuth\)")

    key_mode_refused(env, storelinkd, broker)


if __name__ == "__main__":
    h.run("tls_failures", lambda env: body(env, sys.argv[1]))
