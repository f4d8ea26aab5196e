# SPDX-License-Identifier: MIT
"""
The control socket and the process's own hardening (issue 10, items 13, 14):

- 20 idle local clients connected to control.sock do not lock out
  `storelinkctl status` (the oldest idle client is closed instead);
- `status\\0x`, junk and a too long line each get one error line, which
  never repeats what was sent;
- storelinkctl never echoes a card number given where it does not belong
  (an extra argument of `token`, an unknown command, an unknown option) nor
  one read on stdin that is not a valid PAN;
- the agent lowers RLIMIT_CORE to 0 (started with it unlimited) and is not
  dumpable (run as nobody: /proc/PID then belongs to root), its keyring is
  mlocked (VmLck); storelinkctl token the same while it waits for stdin.

  test_control.py STORELINKD STORELINKCTL
"""

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import shutil

import harness as h

PAN = "4111111111111111"
NOBODY = 65534


def ctl_request(path, data, timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(data)
        out = b""
        while not out.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return out


def core_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    raise h.TestFailure("no core limit in /proc/%d/limits" % pid)


def status_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1]
    raise h.TestFailure("no %s in /proc/%d/status" % (name, pid))


def core_unlimited():
    # started with core dumps allowed, so that lowering them is the agent's doing
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def as_nobody():
    core_unlimited()
    os.setgid(NOBODY)
    os.setgroups([])
    os.setuid(NOBODY)


def control_part(env, storelinkd, storelinkctl):
    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    agent = h.Agent(storelinkd, env.dir, broker, env.pki)
    agent.start()
    env.cleanup.append(agent.kill)
    h.wait_until(lambda: os.path.exists(agent.ctl_path), 60, "the control socket")

    # 13: idle clients must not lock status out
    idle = []
    for _ in range(20):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(agent.ctl_path)
        idle.append(s)
    env.cleanup.append(lambda: [s.close() for s in idle])
    r = subprocess.run([storelinkctl, "status", "-s", agent.ctl_path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    h.check(r.returncode == 0, "storelinkctl status with 20 idle clients failed (%d): %s" %
            (r.returncode, r.stderr.decode(errors="replace")))
    st = json.loads(r.stdout)
    h.check(st.get("store") == h.STORE, "status: %r" % st)
    h.log("status answered with 20 idle control clients connected")

    # 13: malformed lines get an error line, never an echo
    for data, code in ((b"status\0x\n", "malformed_command"),
                       (b"status\0" + PAN.encode() + b"\n", "malformed_command"),
                       (PAN.encode() + b"\n", "unknown_command"),
                       (b"junk\n", "unknown_command"),
                       (PAN.encode() * 5, "command_too_long")):
        out = ctl_request(agent.ctl_path, data)
        h.check(out.endswith(b"\n"), "no reply line to %r: %r" % (data, out))
        rep = json.loads(out)
        h.check(rep.get("code") == code and "error" in rep, "reply to %r: %r" % (data, rep))
        h.check(PAN.encode()[:8] not in out and b"junk" not in out, "input echoed: %r" % out)
    h.check(agent.status()["store"] == h.STORE, "status after the bad lines")
    for s in idle:
        s.close()

    # 14: the running agent (root here) locked its keyring and lowered RLIMIT_CORE
    pid = agent.proc.pid
    h.check(core_limit(pid) == ["0", "0"], "agent RLIMIT_CORE: %s" % core_limit(pid))
    h.check(int(status_field(pid, "VmLck")) > 0, "agent VmLck is 0: keyring not mlocked")
    h.log("agent: core limit 0, VmLck %s kB" % status_field(pid, "VmLck"))
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    return agent


def no_echo_part(storelinkctl, agent):
    key_args = ["--key-file", agent.key_path, "--tenant", h.TENANT, "--kid", "v1"]
    cases = [
        (["token", "--kind", "pan", PAN], b""),
        (["token", "--kind", "pan", "--" + PAN], b""),
        (["token", "--kind", "pan"] + key_args + [PAN], b""),
        (["token", "--kind", PAN] + key_args, b""),
        ([PAN], b""),
        (["status", "--" + PAN], b""),
        (["status", "-" + PAN], b""),
        (["token", "--kind", "pan"] + key_args, b"4111111111111112\n"),     # Luhn fails
        (["token", "--kind", "pan"] + key_args, b";4111111111111111=3012XX\n"),
        (["token", "--kind", "loyalty"] + key_args, ("x" * 2000 + PAN + "\n").encode()),
    ]
    for args, stdin in cases:
        r = subprocess.run([storelinkctl] + args, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        out = r.stdout + r.stderr
        h.check(r.returncode != 0, "storelinkctl %s succeeded" % args)
        for run in (PAN, PAN[:12], "4111111111111112"[4:]):
            h.check(run.encode() not in out, "storelinkctl %s echoed the card number:\n%s" %
                    (args, out.decode(errors="replace")))
    h.log("storelinkctl: %d bad invocations, no card number in any output" % len(cases))


def nobody_part(storelinkd, storelinkctl):
    """The agent and storelinkctl token as nobody: not dumpable means /proc/PID
    belongs to root although the process runs as nobody."""
    d = tempfile.mkdtemp(prefix="sl-it-control-nobody-")
    procs = []
    try:
        os.chmod(d, 0o755)
        key = os.path.join(d, "master.key")
        with open(key, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chmod(key, 0o600)
        conf = os.path.join(d, "storelink.conf")
        pos = os.path.join(d, "pos.sock")
        with open(conf, "w") as f:
            f.write("[agent]\ntenant = %s\nstore_id = %s\ngateway_id = %s\nstate_dir = %s\n"
                    "[mqtt]\nhost = 127.0.0.1\nport = %d\ntls = off\n"
                    "[keys]\nmaster_key_file = %s\nkey_id = v1\n"
                    "[pos]\nlisten = unix:%s\n" %
                    (h.TENANT, h.STORE, h.GATEWAY, os.path.join(d, "state"), h.free_port(),
                     key, pos))
        for p in (d, key, conf):
            os.chown(p, NOBODY, NOBODY)
        errf = open(os.path.join(d, "stderr.log"), "w")
        agent = subprocess.Popen([storelinkd, "-c", conf], stdout=errf, stderr=errf,
                                 preexec_fn=as_nobody)
        procs.append(agent)
        errf.close()
        h.wait_until(lambda: agent.poll() is not None or os.path.exists(pos), 60,
                     "the unprivileged agent's POS socket")
        h.check(agent.poll() is None, "the agent as nobody exited: %s" %
                open(os.path.join(d, "stderr.log")).read())
        h.check(status_field(agent.pid, "Uid") == str(NOBODY), "agent not running as nobody")
        owner = os.stat("/proc/%d/status" % agent.pid).st_uid
        h.check(owner == 0, "agent (uid nobody) is dumpable: /proc/%d owned by uid %d" %
                (agent.pid, owner))
        h.check(core_limit(agent.pid) == ["0", "0"], "agent RLIMIT_CORE %s" %
                core_limit(agent.pid))

        tok = subprocess.Popen([storelinkctl, "token", "--kind", "pan", "--key-file", key,
                                "--tenant", h.TENANT, "--kid", "v1"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, preexec_fn=as_nobody)
        procs.append(tok)
        # it reads stdin only after loading the keys: wait until the keyring is locked
        h.wait_until(lambda: tok.poll() is not None or int(status_field(tok.pid, "VmLck")) > 0,
                     60, "storelinkctl token's locked keyring")
        h.check(tok.poll() is None, "storelinkctl token exited early")
        h.check(os.stat("/proc/%d/status" % tok.pid).st_uid == 0,
                "storelinkctl token is dumpable")
        h.check(core_limit(tok.pid) == ["0", "0"], "storelinkctl RLIMIT_CORE %s" %
                core_limit(tok.pid))
        out, err = tok.communicate(b"4111 1111 1111 1111\n", timeout=60)
        h.check(tok.returncode == 0 and out.startswith(b"v1."), "token: %r %r" % (out, err))
        agent.terminate()
        h.check(agent.wait(timeout=60) == 0, "the agent as nobody did not stop cleanly")
        h.log("as nobody: agent and storelinkctl token non-dumpable, core limit 0")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(d, ignore_errors=True)


def body(env, storelinkd, storelinkctl):
    agent = control_part(env, storelinkd, storelinkctl)
    no_echo_part(storelinkctl, agent)
    nobody_part(storelinkd, storelinkctl)


if __name__ == "__main__":
    h.run("control", lambda env: body(env, sys.argv[1], sys.argv[2]))
