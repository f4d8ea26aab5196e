# SPDX-License-Identifier: MIT
"""
Broker packets silently dropped: the agent runs in its own network namespace
(ip netns, a veth pair to the broker in the test's namespace), and while the
POS is sending, an nft rule in that namespace drops every packet to and from
the broker port (no RST, no ICMP: a cut cable, a firewall that drops). The
agent must see the link as down by its keepalive, keep acknowledging the POS
from its spool, keep retrying (connects that time out), and after the rule
is removed reconnect and deliver every acknowledged event exactly as spooled
(uplink_harness.outage). The subscriber (the CDP) is not cut off.

Needs root (ip netns, veth, nft); without it the test fails and says so.
Names (namespace, veth, nft table) carry the pid; all are removed at the end.

  test_uplink_drop.py STORELINKD
"""

import os
import subprocess
import sys

import harness as h
import uplink_harness as uh


def sh(*args):
    r = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode:
        raise h.TestFailure("%s: %s" % (" ".join(args), r.stderr.decode().strip()))
    return r.stdout.decode()


class Netns:
    """A namespace with a veth pair: host side HOST/30, namespace side NS_IP."""

    def __init__(self):
        pid = os.getpid()
        self.name = "sl-uplink-%d" % pid
        self.host_if = "slu%da" % pid
        self.ns_if = "slu%db" % pid
        n = pid % 16000
        net = 10 << 24 | 250 << 16 | n * 4
        self.host = "%d.%d.%d.%d" % (net >> 24, net >> 16 & 255, net >> 8 & 255, (net & 255) + 1)
        self.ns_ip = "%d.%d.%d.%d" % (net >> 24, net >> 16 & 255, net >> 8 & 255, (net & 255) + 2)
        self.up = False

    def create(self):
        h.check(self.host not in sh("ip", "-4", "addr"),
                "%s is already used on this machine" % self.host)
        sh("ip", "netns", "add", self.name)
        self.up = True
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        sh("ip", "link", "set", self.ns_if, "netns", self.name)
        sh("ip", "addr", "add", self.host + "/30", "dev", self.host_if)
        sh("ip", "link", "set", self.host_if, "up")
        sh("ip", "-n", self.name, "addr", "add", self.ns_ip + "/30", "dev", self.ns_if)
        sh("ip", "-n", self.name, "link", "set", self.ns_if, "up")
        sh("ip", "-n", self.name, "link", "set", "lo", "up")

    def nft(self, script):
        r = subprocess.run(["ip", "netns", "exec", self.name, "nft", "-f", "-"],
                           input=script.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode:
            raise h.TestFailure("nft: %s" % r.stderr.decode().strip())

    def destroy(self):
        if not self.up:
            return
        subprocess.run(["ip", "link", "del", self.host_if], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)
        self.up = False


class VethBroker(h.Broker):
    """The harness broker, with a second TLS listener on the veth address."""

    def __init__(self, workdir, pki, addr, **kw):
        h.Broker.__init__(self, workdir, pki, server="server_ns", **kw)
        self.addr = addr

    def _write_conf(self):
        conf = h.Broker._write_conf(self)
        with open(conf) as f:
            text = f.read()
        start = text.index("listener %d 127.0.0.1\n" % self.port)
        end = text.index("use_identity_as_username true\n", start)
        block = text[start:end] + "use_identity_as_username true\n"
        with open(conf, "a") as f:
            f.write(block.replace("127.0.0.1", self.addr, 1))
        return conf


def body(env, storelinkd):
    uh.require_root("uplink_drop")
    for tool in ("ip", "nft"):
        h.check(subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode == 0,
                "%s not installed (tools/lib/deps.sh: iproute2, nftables)" % tool)
    ns = Netns()
    env.cleanup.append(ns.destroy)
    ns.create()
    # the broker certificate also names the veth address the agent dials
    env.pki._leaf("server_ns", "ca", "localhost",
                  "DNS:localhost,IP:127.0.0.1,IP:%s" % ns.host, server=True)
    broker = VethBroker(env.dir, env.pki, ns.host)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)

    # storelinkd inside the namespace: same pid (ip netns exec execs it)
    wrapper = os.path.join(env.dir, "storelinkd-in-netns")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec ip netns exec %s %s "$@"\n' % (ns.name, storelinkd))
    os.chmod(wrapper, 0o755)
    agent = h.Agent(wrapper, env.dir, broker, env.pki, mqtt=uh.agent_mqtt({"host": ns.host}))
    env.cleanup.append(agent.kill)
    agent.start()

    port = broker.port
    rules = ("table inet sl_uplink_drop {\n"
             " chain out { type filter hook output priority 0; ip daddr %s tcp dport %d drop; }\n"
             " chain in { type filter hook input priority 0; ip saddr %s tcp sport %d drop; }\n"
             "}\n" % (ns.host, port, ns.host, port))

    def drop():
        ns.nft(rules)

    def lift():
        ns.nft("delete table inet sl_uplink_drop\n")

    uh.outage(env, agent, sub, drop, lift, "uplink_drop", dup_bound=uh.WINDOW)


if __name__ == "__main__":
    h.run("uplink_drop", lambda env: body(env, sys.argv[1]))
