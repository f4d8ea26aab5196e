# SPDX-License-Identifier: MIT
"""
storelinkd --check-config as a full dry run: every case below used to pass
the check and then stop (or restart-loop) the agent. Each must now be
refused with FILE:LINE: [section] key: reason, all problems of one file at
once; an absent radio adapter and a certificate expiring soon are warnings.
Run as root, files are opened as the service user (--user), so a key only
root can read is caught.

  test_check_config.py STORELINKD
"""

import os
import re
import subprocess
import sys

import harness as h

USER = "slchk%d" % os.getpid()


def conf_text(env, agent, mqtt=None, pos=None, extra="", agent_kv=None):
    m = {"host": "127.0.0.1", "port": "8883", "ca_file": env.pki.path("ca", "crt"),
         "cert_file": env.pki.path("client", "crt"), "key_file": env.pki.path("client", "key")}
    m.update(mqtt or {})
    a = {"tenant": h.TENANT, "store_id": h.STORE, "gateway_id": h.GATEWAY,
         "state_dir": agent.state_dir}
    a.update(agent_kv or {})
    lines = ["[agent]"] + ["%s = %s" % kv for kv in a.items()]
    lines += ["", "[mqtt]"] + ["%s = %s" % kv for kv in m.items() if kv[1] is not None]
    lines += ["", "[keys]", "master_key_file = %s" % agent.key_path, "key_id = v1", ""]
    lines += ["[pos]", "listen = unix:%s" % agent.pos_path]
    lines += ["%s = %s" % kv for kv in (pos or {}).items()]
    return "\n".join(lines) + "\n" + extra


def check(storelinkd, path, user=None):
    cmd = [storelinkd, "-c", path, "--check-config"] + (["--user", user] if user else [])
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def line_of(text, key):
    for i, l in enumerate(text.splitlines(), 1):
        if re.match(r"\s*%s\s*=" % re.escape(key), l):
            return i
    raise h.TestFailure("no %s in the config" % key)


def case(env, storelinkd, agent, name, text, expect, ok=False, user=None, starts=None):
    path = os.path.join(env.dir, name + ".conf")
    with open(path, "w") as f:
        f.write(text)
    rc, out = check(storelinkd, path, user)
    h.check((rc == 0) == ok, "%s: --check-config exit %d:\n%s" % (name, rc, out))
    for section, key, reason in expect:
        pat = r"%s:%d: \[%s\] %s: %s" % (re.escape(path), line_of(text, key), section, key,
                                        reason)
        h.check(re.search(pat, out), "%s: no line matching %r in:\n%s" % (name, pat, out))
    h.log("%-22s %s" % (name + ":", out.strip().splitlines()[0] if out.strip() else "ok"))
    if starts is not None:
        # the agent agrees with the check
        p = subprocess.run([storelinkd, "-c", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        h.check((p.returncode == 0) == starts, "%s: the agent exited %d:\n%s" %
                (name, p.returncode, p.stdout.decode()))


def write(path, data, mode):
    with open(path, "w") as f:
        f.write(data)
    os.chmod(path, mode)


def body(env, storelinkd):
    agent = h.Agent(storelinkd, env.dir, h.Broker(env.dir, env.pki), env.pki)
    d = env.dir
    good = conf_text(env, agent)
    case(env, storelinkd, agent, "good", good, [], ok=True)

    tok_644 = os.path.join(d, "pos-644.token")
    write(tok_644, "x" * 32 + "\n", 0o644)
    case(env, storelinkd, agent, "token-0644", conf_text(env, agent, pos={
        "auth_token_file": tok_644}),
        [("pos", "auth_token_file", r".*readable by others \(mode 0644\)")], starts=False)
    tok_short = os.path.join(d, "pos-short.token")
    write(tok_short, "abcdef\n", 0o600)
    case(env, storelinkd, agent, "token-short", conf_text(env, agent, pos={
        "auth_token_file": tok_short}),
        [("pos", "auth_token_file", r".*token shorter than 16 characters")], starts=False)
    case(env, storelinkd, agent, "no-such-group", conf_text(env, agent, pos={
        "socket_group": "nosuchgroup"}),
        [("pos", "socket_group", r"'nosuchgroup': no such group")], starts=False)

    garbage = os.path.join(d, "garbage.crt")
    write(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
          0o644)
    case(env, storelinkd, agent, "garbage-cert", conf_text(env, agent, mqtt={
        "cert_file": garbage}),
        [("mqtt", "cert_file", r".*garbage.crt: not a certificate")])
    case(env, storelinkd, agent, "cert-key-mismatch", conf_text(env, agent, mqtt={
        "key_file": env.pki.path("cdp", "key")}),
        [("mqtt", "cert_file", r".*client.crt does not match the key .*cdp.key")])
    case(env, storelinkd, agent, "three-missing", conf_text(env, agent, mqtt={
        "ca_file": os.path.join(d, "no-ca.pem"), "cert_file": os.path.join(d, "no-cert.pem"),
        "key_file": os.path.join(d, "no-key.pem")}),
        [("mqtt", "ca_file", r".*no-ca.pem: No such file"),
         ("mqtt", "cert_file", r".*no-cert.pem: No such file"),
         ("mqtt", "key_file", r".*no-key.pem: No such file")])
    case(env, storelinkd, agent, "placeholders", conf_text(env, agent, agent_kv={
        "tenant": "CHANGE-ME"}, mqtt={"host": "CHANGE-ME.cdp.example"}),
        [("agent", "tenant", r"still the placeholder 'CHANGE-ME'"),
         ("mqtt", "host", r"still the placeholder 'CHANGE-ME.cdp.example'")])
    key_644 = os.path.join(d, "client-644.key")
    write(key_644, open(env.pki.path("client", "key")).read(), 0o644)
    case(env, storelinkd, agent, "client-key-0644", conf_text(env, agent, mqtt={
        "key_file": key_644}),
        [("mqtt", "key_file", r".*client-644.key is readable or writable by group or others")],
        starts=False)

    # an expired client certificate is refused; one that expires soon is a warning
    env.pki._run("x509", "-req", "-in", env.pki.path("client", "csr"), "-CA",
                 env.pki.path("ca", "crt"), "-CAkey", env.pki.path("ca", "key"),
                 "-CAcreateserial", "-days", "10", "-sha256", "-out",
                 os.path.join(d, "client-10d.crt"))
    case(env, storelinkd, agent, "cert-expiring", conf_text(env, agent, mqtt={
        "cert_file": os.path.join(d, "client-10d.crt")}),
        [("mqtt", "cert_file", r"warning: .*client-10d.crt expires on .*, in \d+ days")], ok=True)

    # no Bluetooth adapter on this machine: a warning, and the agent waits for it
    case(env, storelinkd, agent, "ble-absent", good + "\n[ble]\nsource = hci:hci0\n",
         [("ble", "source", r"warning: no adapter hci0 now; the agent waits for it")], ok=True)

    # as the service user: a master key only root can read
    subprocess.run(["userdel", USER], stderr=subprocess.DEVNULL)
    r = subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", USER])
    h.check(r.returncode == 0, "useradd failed")
    env.cleanup.append(lambda: subprocess.run(["userdel", USER]))
    os.chmod(d, 0o755)
    for p in (env.pki.dir,):
        os.chmod(p, 0o755)
    for name in ("ca.crt", "client.crt"):
        os.chmod(os.path.join(env.pki.dir, name), 0o644)
    keyfile = os.path.join(d, "user-client.key")
    write(keyfile, open(env.pki.path("client", "key")).read(), 0o600)
    os.chown(keyfile, __import__("pwd").getpwnam(USER).pw_uid, -1)
    case(env, storelinkd, agent, "root-only-master-key", conf_text(env, agent, mqtt={
        "key_file": keyfile}),
        [("keys", "master_key_file", r".*master.key.*(Permission denied|cannot)")], user=USER)
    os.chown(agent.key_path, __import__("pwd").getpwnam(USER).pw_uid, -1)
    case(env, storelinkd, agent, "as-service-user", conf_text(env, agent, mqtt={
        "key_file": keyfile}, agent_kv={"state_dir": d}), [], ok=True, user=USER)


if __name__ == "__main__":
    h.run("check_config", lambda env: body(env, sys.argv[1]))
