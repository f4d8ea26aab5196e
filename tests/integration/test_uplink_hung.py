# SPDX-License-Identifier: MIT
"""
Hung broker: while the POS is sending, mosquitto is stopped with SIGSTOP.
Its sockets stay open and the kernel still accepts connections and data, but
nothing answers: no PUBACK, no PINGRESP, no CONNACK. The agent must see the
link as down by its keepalive, keep acknowledging the POS from its spool,
keep retrying (connects whose TLS handshake or CONNACK never comes), and
after SIGCONT reconnect and deliver every acknowledged event exactly as
spooled (uplink_harness.outage). The subscriber has a persistent session on
a broker with persistence, as a CDP consumer would.

  test_uplink_hung.py STORELINKD
"""

import signal
import sys

import harness as h
import uplink_harness as uh

SUB_WINDOW = 100    # the broker's max_inflight_messages towards the subscriber


def body(env, storelinkd):
    broker = h.Broker(env.dir, env.pki, persistence=True)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki, persistent=True, client_id="cdp-hung")
    sub.start()
    env.cleanup.append(sub.stop)
    agent = h.Agent(storelinkd, env.dir, broker, env.pki, mqtt=uh.agent_mqtt())
    env.cleanup.append(agent.kill)
    agent.start()
    stopped = []

    def resume():
        if stopped and broker.proc and broker.proc.poll() is None:
            broker.proc.send_signal(signal.SIGCONT)
        del stopped[:]

    env.cleanup.append(resume)      # before broker.stop (cleanup runs in reverse)

    def hang():
        broker.proc.send_signal(signal.SIGSTOP)
        stopped.append(True)

    # the dead connection's PUBLISHes sit in the broker's socket buffer and are
    # delivered after SIGCONT, then sent again by the agent: one window; the
    # subscriber may be redelivered its own window after its keepalive
    uh.outage(env, agent, sub, hang, resume, "uplink_hung", dup_bound=uh.WINDOW + SUB_WINDOW)


if __name__ == "__main__":
    h.run("uplink_hung", lambda env: body(env, sys.argv[1]))
