# SPDX-License-Identifier: MIT
"""
The Debian package on this machine, as retail IT would use it (needs root;
the CI machine is disposable; systemd need not be PID 1):

  1. dpkg -i the amd64 .deb: files, owners and modes, the service user, the
     unit enabled, the conffile root:storelink 0640, the exposure scores of
     the installed unit (systemd-analyze security --offline=true)
  2. provisioned by hand (key, TLS files, conffile edited in place), the
     unit's ExecStartPre and ExecStart (read from the installed unit) run as
     the packaged user with setpriv, with a fake $NOTIFY_SOCKET and
     WATCHDOG_USEC as systemd would give: READY=1 and WATCHDOG=1 arrive,
     POS events reach the TLS broker; under strace: every system call the
     agent makes is one the unit's SystemCallFilter= (and ProtectClock=...)
     allows, since under systemd a refused call fails quietly with EPERM
  3. the broker stops, POS events wait in the spool, the agent stops;
     upgrade to a higher version whose packaged conffile changed (made by
     repacking this .deb: what is tested is dpkg's and the maintainer
     scripts' handling, which recompiling would not change): the conffile
     edit and the spool survive, and the queued events reach the broker
  4. dpkg -r keeps the user data; dpkg --purge leaves nothing behind
  5. the arm64 .deb (if given): contents, ELF machine, and its storelinkd
     --version under qemu-aarch64-static

  test_package.py AMD64_DEB [ARM64_DEB]
"""

import grp
import os
import pwd
import random
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

import harness as h

PKG = "storelink"
CONF = "/etc/storelink/storelink.conf"
UNIT = "/lib/systemd/system/storelink.service"
STATE = "/var/lib/storelink"
RUN = "/run/storelink"
POS_SOCK = RUN + "/pos.sock"
WANTS = "/etc/systemd/system/multi-user.target.wants/storelink.service"
MARK = "# edited on this gateway by test_package"
ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def sh(*args, check=True, env=None):
    r = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=env or ENV)
    out = r.stdout.decode(errors="replace")
    if check and r.returncode:
        raise h.TestFailure("%s: exit %d\n%s" % (" ".join(args), r.returncode, out))
    return out


def dpkg(*args, check=True):
    """dpkg, waiting (up to 15 min) while another apt/dpkg holds the lock:
    other jobs on the machine may be installing packages."""
    deadline = time.monotonic() + 900
    while True:
        r = subprocess.run(["dpkg"] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=ENV)
        out = r.stdout.decode(errors="replace")
        if r.returncode == 2 and "lock" in out and time.monotonic() < deadline:
            time.sleep(1)   # the lock holder's pace, not a test wait
            continue
        if check and r.returncode:
            raise h.TestFailure("dpkg %s: exit %d\n%s" % (" ".join(args), r.returncode, out))
        return out


def installed_version():
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Status} ${Version}", PKG],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    parts = r.stdout.decode().split()
    if r.returncode or len(parts) < 4:
        return None
    return parts[3] if parts[2] in ("installed", "config-files") else None


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def mode_owner(path):
    st = os.lstat(path)
    return (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name)


def expect_mode(path, mode, user, group):
    h.check(os.path.exists(path), "%s missing" % path)
    got = mode_owner(path)
    h.check(got == (mode, user, group), "%s is %04o %s:%s, want %04o %s:%s" %
            ((path,) + got + (mode, user, group)))


def purge_leftover():
    """A failed earlier run may have left the package installed: purge it."""
    if subprocess.run(["dpkg-query", "-W", PKG], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode == 0:
        h.log("purging a storelink package left by an earlier run")
        dpkg("--purge", PKG, check=False)


def exposure(root):
    out = sh("systemd-analyze", "security", "--offline=true", "--root=" + root,
             "storelink.service", check=False)
    m = re.search(r"Overall exposure level for storelink\.service: ([0-9.]+)", out)
    h.check(m, "systemd-analyze security printed no exposure level:\n" + out)
    return float(m.group(1))


def check_exposure(env, broker_ip="127.0.0.1"):
    """The installed unit alone (radios), and for a POS-only gateway with
    the two drop-ins from the docs, broker-only.conf naming the broker this
    test uses."""
    root = os.path.join(env.dir, "sdroot")
    units = os.path.join(root, "etc/systemd/system")
    dropins = units + "/storelink.service.d"
    os.makedirs(dropins)
    shutil.copy(UNIT, units)
    radios = exposure(root)
    ex = "/usr/share/doc/storelink/examples/"
    shutil.copy(ex + "pos-only.conf", dropins)
    pos_only = exposure(root)
    text = open(ex + "broker-only.conf").read()
    text = re.sub(r"^IPAddressAllow=192\.0\.2\.10.*$", "IPAddressAllow=" + broker_ip, text,
                  flags=re.M)
    h.check(broker_ip in text, "broker-only.conf has no broker line to set")
    open(dropins + "/broker-only.conf", "w").write(text)
    pos_broker = exposure(root)
    h.log("exposure: %.1f with radios, %.1f POS-only, %.1f POS-only with broker-only.conf" %
          (radios, pos_only, pos_broker))
    h.check(radios <= 2.5, "exposure %.1f with radios, want <= 2.5" % radios)
    h.check(pos_broker <= 1.5, "exposure %.1f POS-only with the broker allow list, want <= 1.5"
            % pos_broker)


def syscall_set(group, seen=None):
    """The system calls of a systemd group (@name), nested groups expanded."""
    seen = seen if seen is not None else set()
    out = sh("systemd-analyze", "syscall-filter", group)
    calls = set()
    for line in out.splitlines()[1:]:
        t = line.strip()
        if not t or t.startswith("#"):
            continue
        if t.startswith("@"):
            if t not in seen:
                seen.add(t)
                calls |= syscall_set(t, seen)
        else:
            calls.add(t)
    return calls


def allowed_syscalls():
    """What the installed unit's SystemCallFilter= lines (in order) and the
    directives that add filters of their own leave allowed."""
    allowed = None
    directives = {}
    for line in open(UNIT):
        m = re.match(r"(\w+)=(.*)", line.strip())
        if not m:
            continue
        directives[m.group(1)] = m.group(2)
        if m.group(1) != "SystemCallFilter":
            continue
        v = m.group(2).strip()
        deny = v.startswith("~")
        names = set()
        for n in v.lstrip("~").split():
            names |= syscall_set(n) if n.startswith("@") else {n}
        if allowed is None:
            h.check(not deny, "the unit's first SystemCallFilter= is not an allow list")
            allowed = names
        elif deny:
            allowed -= names
        else:
            allowed |= names
    h.check(allowed, "the unit has no SystemCallFilter=")
    implied = {"ProtectClock": "@clock", "PrivateDevices": "@raw-io",
               "ProtectKernelModules": "@module"}
    for d, g in implied.items():
        if directives.get(d) == "yes":
            allowed -= syscall_set(g)
    return allowed


def check_syscalls(trace):
    """Every system call storelinkd made (after its execve) is one the unit
    allows: under systemd a refused call fails with EPERM, silently."""
    used, started = set(), False
    for line in open(trace, errors="replace"):
        if 'execve("/usr/sbin/storelinkd"' in line:
            started = True
            continue
        m = re.match(r"\d+\s+([a-z0-9_]+)\(", line)
        if started and m:
            used.add(m.group(1))
    h.check(started and used, "no storelinkd system calls in the trace")
    refused = sorted(used - allowed_syscalls())
    h.check(not refused, "storelinkd makes system calls the unit's filters refuse: %s" % refused)
    h.log("%d distinct system calls, all allowed by the unit's filters" % len(used))


def check_installed(deb, version):
    h.check(installed_version() == version, "installed version %s, want %s" %
            (installed_version(), version))
    expect_mode("/usr/sbin/storelinkd", 0o755, "root", "root")
    expect_mode("/usr/bin/storelinkctl", 0o755, "root", "root")
    expect_mode(UNIT, 0o644, "root", "root")
    expect_mode("/usr/lib/sysusers.d/storelink.conf", 0o644, "root", "root")
    expect_mode("/usr/lib/tmpfiles.d/storelink.conf", 0o644, "root", "root")
    expect_mode("/usr/share/doc/storelink/copyright", 0o644, "root", "root")
    expect_mode("/usr/share/doc/storelink/changelog.Debian.gz", 0o644, "root", "root")
    expect_mode("/usr/share/man/man8/storelinkd.8.gz", 0o644, "root", "root")
    expect_mode("/usr/share/man/man1/storelinkctl.1.gz", 0o644, "root", "root")
    expect_mode("/etc/storelink", 0o755, "root", "root")
    expect_mode(CONF, 0o640, "root", "storelink")
    expect_mode(STATE, 0o750, "storelink", "storelink")
    pw = pwd.getpwnam("storelink")
    h.check(pw.pw_shell == "/usr/sbin/nologin", "storelink's shell is %s" % pw.pw_shell)
    h.check(pw.pw_dir == STATE, "storelink's home is %s" % pw.pw_dir)
    h.check(pw.pw_uid < 1000, "storelink is not a system user (uid %d)" % pw.pw_uid)
    h.check("storelink" in grp.getgrnam("storelink-pos").gr_mem,
            "storelink is not in group storelink-pos")
    h.check(os.path.realpath(WANTS) == os.path.realpath(UNIT),
            "the unit is not enabled (%s)" % WANTS)
    conffiles = sh("dpkg-query", "-W", "-f", "${Conffiles}", PKG)
    h.check(CONF in conffiles, "%s is not a conffile: %s" % (CONF, conffiles))
    h.check(CONF in sh("dpkg-statoverride", "--list"), "no statoverride for " + CONF)
    unit = open(UNIT).read()
    h.check("ConditionPathExists=/etc/storelink/master.key" in unit,
            "the unit starts before provisioning")
    h.check("WatchdogSec=" in unit, "the unit has no watchdog")
    # the unit's syntax and commands, as systemd would load it
    r = subprocess.run(["systemd-analyze", "verify", UNIT], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    out = r.stdout.decode(errors="replace")
    h.check(r.returncode == 0 and "storelink.service" not in out,
            "systemd-analyze verify %s:\n%s" % (UNIT, out))


def provision(env, broker):
    """What provisioning does: key, TLS files, the conffile edited in place
    (owner and mode kept, as an editor keeps them)."""
    sh("storelinkctl", "keygen", "/etc/storelink/master.key")
    for src, dst, mode in (("ca.crt", "ca.pem", 0o644), ("client.crt", "gateway.pem", 0o644),
                           ("client.key", "gateway.key", 0o600)):
        path = "/etc/storelink/" + dst
        shutil.copy(os.path.join(env.pki.dir, src), path)
        os.chmod(path, mode)
    for f in ("master.key", "gateway.pem", "gateway.key", "ca.pem"):
        shutil.chown("/etc/storelink/" + f, "storelink", "storelink")
    text = open(CONF).read()
    repl = {("agent", "tenant"): h.TENANT, ("agent", "store_id"): h.STORE,
            ("agent", "gateway_id"): h.GATEWAY, ("mqtt", "host"): "127.0.0.1",
            ("mqtt", "port"): str(broker.port), ("ble", "source"): "off",
            ("spool", "commit_ms"): "20"}
    added = {"mqtt": ["backoff_min_ms = 100", "backoff_max_ms = 1000"]}
    out, section, seen = [], None, set()
    for line in text.splitlines():
        m = re.match(r"\[(\w+)\]", line)
        if m:
            section = m.group(1)
            out.append(line)
            out.extend(added.pop(section, []))
            continue
        k = re.match(r"(\w+)\s*=", line)
        if k and (section, k.group(1)) in repl:
            line = "%s = %s" % (k.group(1), repl[(section, k.group(1))])
            seen.add((section, k.group(1)))
        out.append(line)
    h.check(seen == set(repl) and not added, "keys or sections not in the packaged config: %s %s"
            % (set(repl) - seen, added))
    with open(CONF, "w") as f:     # same inode: owner and mode stay
        f.write(MARK + "\n" + "\n".join(out) + "\n")
    expect_mode(CONF, 0o640, "root", "storelink")


def unit_commands():
    """ExecStartPre= and ExecStart= of the installed unit, as argv lists."""
    cmds = {}
    for line in open(UNIT):
        m = re.match(r"(ExecStartPre|ExecStart)=(.*)", line.strip())
        if m:
            cmds[m.group(1)] = shlex.split(m.group(2))
    h.check(set(cmds) == {"ExecStartPre", "ExecStart"}, "unit commands: %s" % cmds)
    return cmds


def as_service_user(argv):
    return ["setpriv", "--reuid=storelink", "--regid=storelink", "--init-groups",
            "--no-new-privs", "--"] + argv


class FakeSystemd:
    """$NOTIFY_SOCKET: an abstract datagram socket (no file the service user
    would need permission for); collects the datagrams."""

    def __init__(self, tag):
        self.name = "@sl-pkg-notify-%d-%s" % (os.getpid(), tag)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name[1:])
        self.sock.setblocking(False)
        self.got = []

    def poll(self):
        while True:
            try:
                self.got.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.got

    def count(self, what):
        return sum(1 for d in self.poll() for line in d.split("\n") if line == what)

    def close(self):
        self.sock.close()


class Service:
    """The unit's ExecStartPre then ExecStart, as the packaged user, with
    what systemd would set up: RuntimeDirectory, NOTIFY_SOCKET, WATCHDOG_USEC."""

    def __init__(self, env, tag):
        self.env = env
        self.log_path = os.path.join(env.dir, "service-%s.log" % tag)
        self.proc = None
        self.pid = None
        self.notify = FakeSystemd(tag)

    def start(self, trace=None):
        cmds = unit_commands()
        if not os.path.isdir(RUN):
            os.mkdir(RUN, 0o755)
        shutil.chown(RUN, "storelink", "storelink")
        pre = sh(*as_service_user(cmds["ExecStartPre"]), check=False)
        h.check("configuration ok" in pre, "ExecStartPre failed:\n" + pre)
        env = dict(os.environ, NOTIFY_SOCKET=self.notify.name, WATCHDOG_USEC="2000000")
        for k in ("WATCHDOG_PID", "JOURNAL_STREAM"):
            env.pop(k, None)
        logf = open(self.log_path, "a")
        argv = as_service_user(cmds["ExecStart"])
        if trace:   # strace's exit status is storelinkd's
            argv = ["strace", "-f", "-qq", "-o", trace, "--"] + argv
        self.proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, env=env)
        logf.close()
        h.wait_until(lambda: self.proc.poll() is not None or self.notify.count("READY=1"),
                     60, "READY=1 from storelinkd")
        h.check(self.proc.poll() is None, "storelinkd exited:\n" + self.log())
        self.pid = self.proc.pid
        if trace:
            kids = open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)).read()
            h.check(kids.split(), "strace has no child")
            self.pid = int(kids.split()[0])
        h.check(os.path.exists(POS_SOCK), "READY=1 before the POS socket exists")
        expect_mode(POS_SOCK, 0o660, "storelink", "storelink-pos")
        # WATCHDOG_USEC=2 s: a keep-alive every second, from the loop
        h.wait_until(lambda: self.proc.poll() is not None or self.notify.count("WATCHDOG=1") >= 2,
                     60, "two WATCHDOG=1 from storelinkd")
        h.check(self.proc.poll() is None, "storelinkd exited:\n" + self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
                raise h.TestFailure("storelinkd did not stop on SIGTERM")
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        h.check(rc == 0, "storelinkd exited %d:\n%s" % (rc, self.log()))
        h.check(self.notify.count("STOPPING=1") >= 1, "no STOPPING=1")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                if self.pid:
                    os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.kill()
            self.proc.wait()
        self.notify.close()

    def log(self):
        try:
            return open(self.log_path, errors="replace").read()
        except OSError:
            return ""


def spool_depth():
    import sqlite3
    db = sqlite3.connect("file:%s/spool.db?mode=ro" % STATE, uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        db.close()


def send(reqs):
    pos = h.PosClient(POS_SOCK)
    try:
        reps = pos.send_many(h.wire(reqs))
    finally:
        pos.close()
    bad = [r for r in reps if not r.get("ok")]
    h.check(not bad, "POS errors: %s" % bad[:3])
    return [r["id"] for r in reps]


def upgraded_deb(env, deb):
    """The same package at a higher version whose packaged conffile changed."""
    tree = os.path.join(env.dir, "repack")
    sh("dpkg-deb", "-R", deb, tree)
    ctl = os.path.join(tree, "DEBIAN/control")
    text = open(ctl).read()
    old = re.search(r"^Version: (.*)$", text, re.M).group(1)
    new = old + "+upgrade1"
    open(ctl, "w").write(text.replace("Version: " + old, "Version: " + new))
    with open(os.path.join(tree, "etc/storelink/storelink.conf"), "a") as f:
        f.write("# a line the next version of the package added\n")
    md5 = subprocess.run(["md5sum", "etc/storelink/storelink.conf"], cwd=tree,
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    sums = os.path.join(tree, "DEBIAN/md5sums")
    lines = [l for l in open(sums).read().splitlines()
             if not l.endswith(" etc/storelink/storelink.conf")]
    open(sums, "w").write("\n".join(lines + [md5.strip()]) + "\n")
    out = os.path.join(env.dir, "storelink_%s_amd64.deb" % new)
    sh("dpkg-deb", "--root-owner-group", "-b", tree, out)
    return out, new


def check_purged(files):
    h.check(installed_version() is None and
            subprocess.run(["dpkg-query", "-W", PKG], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL).returncode != 0,
            "dpkg still knows storelink after --purge")
    left = [f for f in files if os.path.lexists(f) and not os.path.isdir(f)]
    h.check(not left, "files left after purge: %s" % left)
    for d in ("/etc/storelink", STATE, RUN, "/usr/share/doc/storelink"):
        h.check(not os.path.lexists(d), "%s left after purge" % d)
    h.check(not os.path.lexists(WANTS), "enable symlink left after purge")
    h.check(not user_exists("storelink"), "user storelink left after purge")
    for g in ("storelink", "storelink-pos"):
        h.check(not group_exists(g), "group %s left after purge" % g)
    h.check(CONF not in sh("dpkg-statoverride", "--list"), "statoverride left after purge")
    dsh = "/var/lib/systemd/deb-systemd-helper-enabled/storelink.service.dsh-also"
    h.check(not os.path.lexists(dsh), "deb-systemd-helper state left after purge")


def check_arm64(env, deb):
    h.check(sh("dpkg-deb", "-f", deb, "Architecture").strip() == "arm64",
            "%s is not Architecture: arm64" % deb)
    listing = sh("dpkg-deb", "-c", deb)
    for f in ("./usr/sbin/storelinkd", "./usr/bin/storelinkctl",
              "./lib/systemd/system/storelink.service", "./etc/storelink/storelink.conf",
              "./usr/lib/sysusers.d/storelink.conf", "./usr/share/man/man8/storelinkd.8.gz"):
        h.check(re.search(r"\s%s$" % re.escape(f), listing, re.M), "%s not in %s" % (f, deb))
    tree = os.path.join(env.dir, "arm64")
    sh("dpkg-deb", "-x", deb, tree)
    d = os.path.join(tree, "usr/sbin/storelinkd")
    hdr = sh("readelf", "-h", d)
    h.check(re.search(r"Machine:\s+AArch64", hdr), "storelinkd is not AArch64:\n" + hdr)
    needed = sh("readelf", "-d", d)
    h.check("libmosquitto" in needed and "libbluetooth" in needed,
            "rpi4 storelinkd NEEDED:\n" + needed)
    ver = sh("qemu-aarch64-static", "-L", "/", d, "--version")
    h.check("board rpi4" in ver and "ble" in ver, "arm64 --version: " + ver)
    h.log("arm64: " + ver.splitlines()[0])


def body(env, deb, arm64):
    h.check(os.geteuid() == 0, "test_package needs root: it installs the package")
    version = sh("dpkg-deb", "-f", deb, "Version").strip()
    purge_leftover()
    h.check(not user_exists("storelink"), "a user storelink exists without the package")
    env.cleanup.append(purge_leftover)

    # 1. install
    h.log("installing %s" % os.path.basename(deb))
    dpkg("-i", deb)
    files = [l for l in sh("dpkg", "-L", PKG).splitlines() if l.startswith("/")]
    check_installed(deb, version)
    check_exposure(env)

    # 2. provision and run as the unit would
    broker = h.Broker(env.dir, env.pki)
    broker.start()
    env.cleanup.append(broker.stop)
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    provision(env, broker)
    svc = Service(env, "1")
    env.cleanup.append(svc.kill)
    trace = os.path.join(env.dir, "storelinkd.strace")
    svc.start(trace=trace)
    rng = random.Random(11)
    ids = send(h.make_requests(20, rng))
    h.wait_until(lambda: set(ids) <= set(sub.event_ids()), 120, "20 events at the broker")
    raw = [r["_pan"] for r in h.make_requests(20, random.Random(11)) if "_pan" in r]
    payloads = b"".join(p for _, p, _ in sub.snapshot())
    h.check(not any(p.encode() in payloads for p in raw), "a card number reached the broker")
    h.log("20 POS events reached the TLS broker")

    # 3. queue events with the broker down, stop, upgrade
    sub.stop()
    broker.stop()
    queued = send(h.make_requests(7, rng))
    svc.stop()
    check_syscalls(trace)
    h.check(spool_depth() == 7, "spool holds %d events, want 7" % spool_depth())
    deb2, version2 = upgraded_deb(env, deb)
    h.log("upgrading to %s" % version2)
    dpkg("-i", "--force-confdef", "--force-confold", deb2)
    check_installed(deb2, version2)
    h.check(open(CONF).readline().rstrip("\n") == MARK, "the conffile edit was lost")
    h.check(os.path.exists(CONF + ".dpkg-dist"), "the new packaged conffile is not beside it")
    h.check(spool_depth() == 7, "spool holds %d events after the upgrade" % spool_depth())
    broker.start()
    sub = h.Subscriber(broker, env.pki)
    sub.start()
    env.cleanup.append(sub.stop)
    svc2 = Service(env, "2")
    env.cleanup.append(svc2.kill)
    svc2.start()
    h.wait_until(lambda: set(queued) <= set(sub.event_ids()), 120,
                 "the 7 events queued before the upgrade at the broker")
    h.wait_until(lambda: spool_depth() == 0, 60, "the spool to drain")
    svc2.stop()
    h.log("conffile edit and spool survived the upgrade; queued events delivered")

    # 4. remove keeps user data, purge removes everything
    dpkg("-r", PKG)
    h.check(os.path.exists(CONF) and os.path.isdir(STATE) and user_exists("storelink"),
            "dpkg -r removed user data")
    h.check(not os.path.exists("/usr/sbin/storelinkd"), "dpkg -r left storelinkd")
    dpkg("--purge", PKG)
    check_purged(files + [CONF + ".dpkg-dist"])
    h.log("purged: nothing left")

    # 5. the arm64 package
    if arm64:
        check_arm64(env, arm64)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    h.run("package", lambda env: body(env, os.path.abspath(sys.argv[1]),
                                      os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None))
