# SPDX-License-Identifier: MIT
"""
storelinkctl provision, as retail IT runs it on a freshly installed gateway:
the board's default configuration, a service user, one command, a CSR
signed by a throwaway openssl CA, one command to install the certificate,
and the agent (run as the service user) delivers POS events to a TLS broker.

  - owners and modes: secrets 0600 USER, config 0640 root:USER, state 0750;
  - nothing secret on stdout/stderr (master key, POS token, TLS key);
  - running it twice keeps every key (same master key, TLS key, token);
  - --install-cert refuses a certificate for another key, one from another
    CA, one naming another gateway; wrong answers change nothing;
  - storelinkd --check-config passes, the agent starts as USER and publishes.

  test_provision.py STORELINKD STORELINKCTL SOURCE_DIR
"""

import os
import pwd
import random
import re
import subprocess
import sys

import harness as h

USER = "slprov%d" % os.getpid()


def run(cmd, ok=True, user=None):
    if user:
        cmd = ["setpriv", "--reuid", user, "--regid", user, "--init-groups"] + cmd
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    h.check((r.returncode == 0) == ok, "%s: exit %d (wanted %s):\n%s" %
            (" ".join(cmd), r.returncode, "0" if ok else "non-zero", out))
    return out


def mode_owner(path):
    st = os.stat(path)
    return (st.st_mode & 0o7777, pwd.getpwuid(st.st_uid).pw_name,
            __import__("grp").getgrgid(st.st_gid).gr_name)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def sign(pki, csr, ca, name, cn=None):
    """Signs csr with the test CA ca (or a new key's CSR with cn)."""
    ext = os.path.join(pki.dir, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=clientAuth\n")
    if cn:
        pki._key(name)
        pki._run("req", "-new", "-key", pki.path(name, "key"), "-subj", "/CN=" + cn,
                 "-out", pki.path(name, "csr"))
        csr = pki.path(name, "csr")
    pki._run("x509", "-req", "-in", csr, "-CA", pki.path(ca, "crt"), "-CAkey",
             pki.path(ca, "key"), "-CAcreateserial", "-days", "2", "-sha256",
             "-extfile", ext, "-out", pki.path(name, "crt"))
    return pki.path(name, "crt")


def body(env, storelinkd, ctl, src):
    subprocess.run(["userdel", USER], stderr=subprocess.DEVNULL)
    run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER])
    env.cleanup.append(lambda: subprocess.run(["userdel", USER]))
    os.chmod(env.dir, 0o755)    # the service user walks into it

    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)

    # the board's default configuration, paths moved into the test's directory
    etc = os.path.join(env.dir, "etc")
    os.makedirs(etc)
    os.chmod(etc, 0o755)
    conf = os.path.join(etc, "storelink.conf")
    text = open(os.path.join(src, "boards", "x86_64", "storelink.conf")).read()
    text = text.replace("/etc/storelink/", etc + "/")
    text = text.replace("/var/lib/storelink", os.path.join(env.dir, "state"))
    text = text.replace("/run/storelink/pos.sock", os.path.join(env.dir, "state", "pos.sock"))
    text = text.replace("socket_group = storelink-pos", "socket_group = " + USER)
    text = text.replace("source = hci:hci0", "source = off")     # no adapter here
    with open(conf, "w") as f:
        f.write(text)

    gateway = h.AGENT_CN        # the broker's ACL knows this client certificate CN
    args = ["--user", USER, "--tenant", h.TENANT, "--store", h.STORE, "--gateway", gateway,
            "--broker", "127.0.0.1:%d" % broker.port]

    # wrong answers: refused, nothing written
    before = read(conf)
    out = run([ctl, "provision", "-c", conf] + args[:2] + ["--tenant", "a/b"], ok=False)
    h.check("tenant, store and gateway must be set" in out or "tenant" in out, out)
    run([ctl, "provision", "-c", conf, "--user", "no-such-user-x"], ok=False)
    h.check(read(conf) == before and sorted(os.listdir(etc)) == ["storelink.conf"],
            "a refused provision changed files: %s" % os.listdir(etc))

    # answer file + flags
    answers = os.path.join(env.dir, "answers")
    with open(answers, "w") as f:
        f.write("tenant = %s\nstore = %s\n" % (h.TENANT, h.STORE))
    out1 = run([ctl, "provision", "-c", conf, "--answers", answers] + args[2:2] + args[:2] +
               args[6:])
    h.log("provision:\n" + out1.rstrip())
    secrets = {n: os.path.join(etc, n) for n in ("master.key", "pos.token", "gateway.key")}
    for n, p in secrets.items():
        h.check(mode_owner(p) == (0o600, USER, USER), "%s: %s" % (n, mode_owner(p)))
    h.check(mode_owner(conf) == (0o640, "root", USER), "config: %s" % (mode_owner(conf),))
    h.check(mode_owner(os.path.join(env.dir, "state"))[:2] == (0o750, USER), "state dir")
    master_hex = read(secrets["master.key"]).decode().strip()
    token = read(secrets["pos.token"]).decode().strip()
    h.check(len(token) >= 32, "POS token too short")
    for secret in (master_hex, token, read(secrets["gateway.key"]).decode()):
        h.check(secret not in out1, "provision printed a secret")
    kcv = h.kcv(master_hex, h.TENANT)
    h.check("check value %s" % kcv in out1, "provision does not show the key check value")

    # twice: every key kept
    saved = {n: read(p) for n, p in secrets.items()}
    out2 = run([ctl, "provision", "-c", conf] + args)
    h.check(all(read(p) == saved[n] for n, p in secrets.items()), "a second run replaced a key")
    h.check(out2.count(": kept") == 3, "second run:\n" + out2)

    # the CSR, signed by the CDP's CA; wrong certificates are refused
    csr = os.path.join(etc, "gateway.csr")
    subj = run(["openssl", "req", "-in", csr, "-noout", "-subject", "-verify"])
    h.check(re.search(r"subject=CN\s*=\s*%s" % re.escape(gateway), subj), subj)
    good = sign(env.pki, csr, "ca", "gw-signed")
    other_key = sign(env.pki, None, "ca", "gw-other-key", cn=gateway)
    other_ca = sign(env.pki, csr, "ca2", "gw-other-ca")
    for bad, why in ((other_key, "not for this gateway's key"),
                     (other_ca, "does not verify against")):
        out = run([ctl, "provision", "-c", conf, "--install-cert", bad, "--ca",
                   env.pki.path("ca", "crt"), "--user", USER], ok=False)
        h.check(why in out, "wrong certificate: %s" % out)
    h.check(not os.path.exists(os.path.join(etc, "gateway.pem")), "a bad certificate was installed")
    out = run([ctl, "provision", "-c", conf, "--install-cert", good, "--ca",
               env.pki.path("ca", "crt"), "--user", USER])
    h.log(out.rstrip())

    # the agent, as the service user, as the unit runs it
    run([storelinkd, "-c", conf, "--check-config"], user=USER)
    stderr = open(os.path.join(env.dir, "agent.log"), "w")
    proc = subprocess.Popen(["setpriv", "--reuid", USER, "--regid", USER, "--init-groups",
                             storelinkd, "-c", conf], stderr=stderr)
    env.cleanup.append(lambda: proc.poll() is None and proc.kill())
    pos_path = os.path.join(env.dir, "state", "pos.sock")
    h.wait_until(lambda: os.path.exists(pos_path) or proc.poll() is not None, 60,
                 "the agent's POS socket")
    h.check(proc.poll() is None, "storelinkd exited: %s" %
            open(os.path.join(env.dir, "agent.log")).read())
    pos = h.PosClient(pos_path)
    replies = pos.send_many(h.wire(h.make_requests(20, random.Random(7))))
    pos.close()
    h.check(all(r.get("ok") for r in replies), "POS errors: %s" % replies)
    ids = set(r["id"] for r in replies)
    h.wait_until(lambda: ids <= set(sub.event_ids()), 60, "the events at the broker")
    proc.terminate()
    h.check(proc.wait(timeout=60) == 0, "storelinkd did not stop cleanly")
    h.log("provisioned gateway delivered %d events as user %s" % (len(ids), USER))


if __name__ == "__main__":
    h.run("provision", lambda env: body(env, sys.argv[1], sys.argv[2], sys.argv[3]))
