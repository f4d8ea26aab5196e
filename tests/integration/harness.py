# SPDX-License-Identifier: MIT
"""
Integration test harness: real processes on loopback, real files.

  Pki          throwaway PKI made with the openssl command: two CAs, broker
               certificates (for 127.0.0.1/localhost and for another host
               name), client certificates (the agent, the CDP subscriber, one
               from the wrong CA)
  Broker       Debian's /usr/sbin/mosquitto on 127.0.0.1, TLS with required
               client certificates, identity as user name, an ACL
  Subscriber   paho-mqtt (Debian's python3-paho-mqtt) with a client
               certificate, records every message
  Agent        storelinkd with a generated configuration and master key
  PosClient    the NDJSON POS protocol over the agent's Unix socket
  tokens       an independent implementation of docs/tokens.md (hmac,
               hashlib), never the agent's code

Nothing sleeps a fixed time: every wait polls a condition until a generous
deadline (the machine may be a loaded 2-core box).
"""

import base64
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

MOSQUITTO = "/usr/sbin/mosquitto"
OPENSSL = "openssl"

TENANT = "acme"
STORE = "0042"
GATEWAY = "gw-1"
AGENT_CN = "storelink-gw-1"
CDP_CN = "cdp-consumer"
PREFIX = "storelink"


class TestFailure(Exception):
    pass


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def wait_until(pred, timeout, what, interval=0.02):
    """Polls pred() until it returns a true value; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestFailure("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# ---- tokens (docs/tokens.md), independent of the agent ----------------------

def hkdf_sha256(ikm, salt, info, length=32):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, t, i = b"", b"", 1
    while len(okm) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        okm += t
        i += 1
    return okm[:length]


def b64url_nopad(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(master_hex, tenant, kind, canonical, kid="v1"):
    key = hkdf_sha256(bytes.fromhex(master_hex), tenant.encode(), ("storelink/" + kind).encode())
    return kid + "." + b64url_nopad(hmac.new(key, canonical.encode(), hashlib.sha256).digest())


def kcv(master_hex, tenant):
    """Key check value of docs/tokens.md section 7, computed independently."""
    k_pan = hkdf_sha256(bytes.fromhex(master_hex), tenant.encode(), b"storelink/pan")
    return b64url_nopad(hmac.new(k_pan, b"storelink/kcv", hashlib.sha256).digest()[:6])


def loyalty_canonical(s):
    return s.upper().replace(" ", "").replace("-", "")


def luhn_complete(prefix):
    """Appends the Luhn check digit to a digit string."""
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix + str((10 - total % 10) % 10)


def random_pan(rng):
    return luhn_complete("4" + "".join(rng.choice("0123456789") for _ in range(14)))


# ---- PKI --------------------------------------------------------------------

class Pki:
    """CA, CA2; server (127.0.0.1 + localhost), server_other (another host
    name); client (agent), cdp (subscriber), client_ca2 (wrong CA)."""

    def __init__(self, d):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        self._ca("ca", "storelink test CA")
        self._ca("ca2", "another CA")
        self._leaf("server", "ca", "localhost", "DNS:localhost,IP:127.0.0.1", server=True)
        self._leaf("server_other", "ca", "broker.example.net", "DNS:broker.example.net",
                   server=True)
        self._leaf("client", "ca", AGENT_CN, None)
        self._leaf("cdp", "ca", CDP_CN, None)
        self._leaf("client_ca2", "ca2", AGENT_CN, None)

    def path(self, name, ext):
        return os.path.join(self.dir, "%s.%s" % (name, ext))

    def _run(self, *args):
        r = subprocess.run([OPENSSL] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, cwd=self.dir)
        if r.returncode:
            raise TestFailure("openssl %s: %s" % (args[0], r.stderr.decode()))

    def _key(self, name):
        self._run("ecparam", "-name", "prime256v1", "-genkey", "-noout",
                  "-out", self.path(name, "key"))
        os.chmod(self.path(name, "key"), 0o600)

    def _ca(self, name, cn):
        self._key(name)
        self._run("req", "-x509", "-new", "-key", self.path(name, "key"), "-sha256",
                  "-days", "2", "-subj", "/CN=" + cn, "-out", self.path(name, "crt"),
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def _leaf(self, name, ca, cn, san, server=False):
        self._key(name)
        self._run("req", "-new", "-key", self.path(name, "key"), "-subj", "/CN=" + cn,
                  "-out", self.path(name, "csr"))
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            f.write("keyUsage=critical,digitalSignature,keyEncipherment\n")
            f.write("extendedKeyUsage=%s\n" % ("serverAuth" if server else "clientAuth"))
            if san:
                f.write("subjectAltName=%s\n" % san)
        self._run("x509", "-req", "-in", self.path(name, "csr"), "-CA", self.path(ca, "crt"),
                  "-CAkey", self.path(ca, "key"), "-CAcreateserial", "-days", "2",
                  "-sha256", "-extfile", ext, "-out", self.path(name, "crt"))


# ---- broker -----------------------------------------------------------------

class Broker:
    """mosquitto on 127.0.0.1:port with TLS and required client certificates.
    acl_extra: lines appended to the agent user's ACL section (e.g. a deny).
    persistence: keep sessions over a restart (the CDP subscriber's queue)."""

    def __init__(self, workdir, pki, server="server", persistence=False, acl_deny=None,
                 debug_log=False, plain=False):
        self.dir = os.path.join(workdir, "broker")
        os.makedirs(self.dir, exist_ok=True)
        self.pki = pki
        self.server = server
        self.persistence = persistence
        self.acl_deny = acl_deny
        self.debug_log = debug_log
        self.plain = plain          # also a plaintext listener (tls = off tests)
        self.plain_port = None
        self.port = None
        self.proc = None
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        self.starts = 0

    def write_acl(self, deny=None):
        self.acl_deny = deny
        with open(os.path.join(self.dir, "acl"), "w") as f:
            if self.plain:
                # before any "user" line: clients without a user name (plaintext)
                f.write("topic write %s/#\n\n" % PREFIX)
            f.write("user %s\n" % AGENT_CN)
            if deny:
                f.write("topic deny %s\n" % deny)
            f.write("topic write %s/#\n\n" % PREFIX)
            f.write("user %s\n" % CDP_CN)
            f.write("topic read %s/#\n" % PREFIX)

    def _write_conf(self):
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("per_listener_settings false\n")
            if os.geteuid() == 0:
                # mosquitto started as root drops to user "mosquitto", who
                # cannot read this private temp dir: stay who we are
                f.write("user root\n")
            f.write("allow_anonymous %s\n" % ("true" if self.plain else "false"))
            f.write("persistence %s\n" % ("true" if self.persistence else "false"))
            if self.persistence:
                f.write("persistence_location %s/\n" % self.dir)
                f.write("autosave_interval 0\n")
            f.write("max_queued_messages 0\n")
            f.write("max_inflight_messages 100\n")
            f.write("set_tcp_nodelay true\n")
            f.write("log_dest stderr\n")
            f.write("log_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
            if self.debug_log:
                f.write("log_type debug\n")
            f.write("connection_messages true\n")
            f.write("acl_file %s\n" % os.path.join(self.dir, "acl"))
            f.write("listener %d 127.0.0.1\n" % self.port)
            f.write("cafile %s\n" % self.pki.path("ca", "crt"))
            f.write("certfile %s\n" % self.pki.path(self.server, "crt"))
            f.write("keyfile %s\n" % self.pki.path(self.server, "key"))
            f.write("require_certificate true\n")
            f.write("use_identity_as_username true\n")
            if self.plain:
                f.write("listener %d 127.0.0.1\n" % self.plain_port)
        return conf

    def start(self, timeout=30):
        """Starts on self.port (a new free port the first time)."""
        self.write_acl(self.acl_deny)
        for attempt in range(5):
            if self.port is None:
                self.port = free_port()
                self.plain_port = free_port() if self.plain else None
            conf = self._write_conf()
            logf = open(self.log_path, "a")
            self.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=logf,
                                         stderr=subprocess.STDOUT)
            logf.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if port_open(self.port):
                    self.starts += 1
                    return
                time.sleep(0.02)
            if self.proc.poll() is None:
                self.stop()
                raise TestFailure("mosquitto did not open port %d" % self.port)
            if self.starts == 0:
                self.port = None  # lost a race for the port: pick another
        raise TestFailure("mosquitto would not start; log:\n" + self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def reload(self):
        """SIGHUP: mosquitto re-reads the ACL file."""
        self.proc.send_signal(signal.SIGHUP)

    def agent_connections(self):
        """How many times the agent's client id got through to CONNECT."""
        return self.log().count("as storelink-%s-%s " % (STORE, GATEWAY))

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# ---- subscriber ---------------------------------------------------------------

class Subscriber:
    """The CDP: subscribes to storelink/# at QoS 1 and records everything.
    persistent: a durable session (clean_session false), so messages
    published while it reconnects after a broker restart are queued."""

    def __init__(self, broker, pki, persistent=False, client_id=None):
        import paho.mqtt.client as mqtt
        self.mqtt = mqtt
        self.lock = threading.Lock()
        self.messages = []          # (topic, payload bytes, retain)
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(client_id=client_id or "cdp-%d" % os.getpid(),
                                  clean_session=not persistent, protocol=mqtt.MQTTv311)
        self.client.tls_set(ca_certs=pki.path("ca", "crt"), certfile=pki.path("cdp", "crt"),
                            keyfile=pki.path("cdp", "key"))
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.broker = broker

    def _on_connect(self, client, userdata, flags, rc):
        if rc == 0:
            self.connected.set()
            client.subscribe(PREFIX + "/#", qos=1)

    def _on_disconnect(self, client, userdata, rc):
        self.connected.clear()
        self.subscribed.clear()

    def _on_subscribe(self, client, userdata, mid, granted):
        self.subscribed.set()

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def _thread(self):
        # paho 1.6 lets ssl.SSLEOFError out of loop_forever() when the broker
        # goes away in the middle of a write, and keeps the broken socket:
        # reconnect explicitly (that drops the socket), then loop again
        while not self.stopping:
            try:
                self.client.loop_forever(retry_first_connection=True)
            except OSError as e:
                log("subscriber: %r; reconnecting" % e)
            self.connected.clear()
            self.subscribed.clear()
            while not self.stopping:
                try:
                    self.client.reconnect()
                    break
                except OSError:
                    time.sleep(0.5)   # the reconnect delay, not a test wait

    def start(self, timeout=30):
        self.stopping = False
        self.client.connect_async("127.0.0.1", self.broker.port, keepalive=30)
        self.thread = threading.Thread(target=self._thread, daemon=True)
        self.thread.start()
        if not self.subscribed.wait(timeout):
            raise TestFailure("subscriber did not subscribe")

    def wait_subscribed(self, timeout=60):
        if not self.subscribed.wait(timeout):
            raise TestFailure("subscriber did not resubscribe")

    def stop(self):
        self.stopping = True
        try:
            self.client.disconnect()
        except OSError:
            pass
        self.thread.join(timeout=30)

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def events(self):
        """Every event received (batches unpacked): list of (topic, dict)."""
        out = []
        for topic, payload, retain in self.snapshot():
            if "/events/" not in topic:
                continue
            doc = json.loads(payload)
            for ev in (doc if isinstance(doc, list) else [doc]):
                out.append((topic, ev))
        return out

    def event_ids(self):
        return [ev["id"] for _, ev in self.events()]

    def statuses(self):
        return [(t, json.loads(p), r) for t, p, r in self.snapshot() if t.endswith("/status")]


# ---- agent --------------------------------------------------------------------

class Agent:
    """storelinkd with a config in workdir/agent. mqtt: [mqtt] overrides."""

    def __init__(self, binary, workdir, broker, pki, mqtt=None, spool=None, name="agent",
                 master_hex=None, pos=None):
        self.binary = binary
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.state_dir = os.path.join(self.dir, "state")
        self.pos_path = os.path.join(self.dir, "pos.sock")
        self.ctl_path = os.path.join(self.state_dir, "control.sock")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.conf_path = os.path.join(self.dir, "storelink.conf")
        self.key_path = os.path.join(self.dir, "master.key")
        self.master_hex = master_hex or os.urandom(32).hex()
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (self.master_hex + "\n").encode())
        os.close(fd)
        self.broker = broker
        self.pki = pki
        self.proc = None
        self.log_level = os.environ.get("SL_IT_LOG_LEVEL", "info")
        self.pos_conf = dict(pos or {})    # extra [pos] keys
        self.configure(mqtt or {}, spool or {})

    def configure(self, mqtt=None, spool=None):
        m = {
            "host": "127.0.0.1",
            "port": str(self.broker.port),
            "ca_file": self.pki.path("ca", "crt"),
            "cert_file": self.pki.path("client", "crt"),
            "key_file": self.pki.path("client", "key"),
            "topic_prefix": PREFIX,
            "keepalive": "10",
            "inflight": "32",
            "backoff_min_ms": "100",
            "backoff_max_ms": "1000",
        }
        m.update(mqtt or {})
        sp = {"commit_ms": "20", "sync": "normal"}
        sp.update(spool or {})
        with open(self.conf_path, "w") as f:
            f.write("[agent]\ntenant = %s\nstore_id = %s\ngateway_id = %s\n" %
                    (TENANT, STORE, GATEWAY))
            f.write("state_dir = %s\nlog_level = %s\n\n" % (self.state_dir, self.log_level))
            f.write("[mqtt]\n")
            for k, v in m.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))
            f.write("\n[keys]\nmaster_key_file = %s\nkey_id = v1\n\n" % self.key_path)
            f.write("[pos]\nlisten = unix:%s\n" % self.pos_path)
            for k, v in getattr(self, "pos_conf", {}).items():
                f.write("%s = %s\n" % (k, v))
            f.write("\n")
            f.write("[spool]\n")
            for k, v in sp.items():
                f.write("%s = %s\n" % (k, v))

    def start(self, timeout=60):
        if os.path.exists(self.pos_path):
            os.unlink(self.pos_path)   # left by a SIGKILLed agent
        errf = open(self.stderr_path, "a")
        self.proc = subprocess.Popen([self.binary, "-c", self.conf_path],
                                     stdout=errf, stderr=errf)
        errf.close()
        wait_until(lambda: self.proc.poll() is not None or os.path.exists(self.pos_path),
                   timeout, "the agent's POS socket")
        if self.proc.poll() is not None:
            raise TestFailure("storelinkd exited with %d:\n%s" % (self.proc.returncode,
                                                                   self.stderr()))

    def stop(self, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise TestFailure("storelinkd did not stop on SIGTERM")
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def status(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(self.ctl_path)
            s.sendall(b"status\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        return json.loads(data)

    def spool_depth(self):
        """Rows in spool.db, read with SQLite directly (the agent may run)."""
        import sqlite3
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.state_dir, "spool.db"),
                             uri=True, timeout=10)
        try:
            return db.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            db.close()

    def spool_ids(self):
        import sqlite3
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.state_dir, "spool.db"),
                             uri=True, timeout=10)
        try:
            return set(r[0] for r in db.execute("SELECT id FROM events"))
        finally:
            db.close()


# ---- POS client ---------------------------------------------------------------

class PosClient:
    """NDJSON over the agent's Unix socket; replies come in request order."""

    def __init__(self, path, timeout=120):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("POS connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def send_many(self, requests, on_reply=None, pipeline=100):
        """Sends requests (dicts), pipelining; returns the replies in order.
        on_reply(request, reply) is called for each reply as it arrives."""
        replies = []
        i = 0
        while i < len(requests):
            chunk = requests[i:i + pipeline]
            self.sock.sendall(b"".join(json.dumps(r).encode() + b"\n" for r in chunk))
            for r in chunk:
                rep = self._line()
                replies.append(rep)
                if on_reply:
                    on_reply(r, rep)
            i += len(chunk)
        return replies


_batches = [0]


def make_requests(n, rng, lanes=8):
    """n POS requests, purchases and loyalty scans (some purchases carry a
    loyalty id, some use track 2); the raw identifiers are in each dict.
    Each call's txn_ids are new (T-<call>-<i>): the same lane and txn_id
    again would be a resend, answered with the first event (docs/pos-protocol.md)."""
    reqs = []
    _batches[0] += 1
    for i in range(n):
        lane = str(1 + i % lanes)
        if i % 2 == 0:
            pan = random_pan(rng)
            r = {"type": "purchase", "lane": lane, "txn_id": "T-%d-%d" % (_batches[0], i),
                 "amount": "%d.%02d" % (rng.randrange(1, 500), rng.randrange(100)),
                 "currency": "EUR"}
            if i % 10 == 4:
                r["track2"] = ";%s=30121010000000000000?" % pan
            else:
                r["pan"] = pan
            if i % 6 == 0:
                r["loyalty_id"] = "lc-%04d %02d" % (rng.randrange(10000), rng.randrange(100))
            r["_pan"] = pan
        else:
            r = {"type": "loyalty_scan", "lane": lane,
                 "loyalty_id": "LC-%04d-%02d" % (rng.randrange(10000), rng.randrange(100))}
        reqs.append(r)
    return reqs


def wire(reqs):
    """Requests without the test's private fields."""
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in reqs]


# ---- a test's environment -----------------------------------------------------

class Env:
    """A temp dir with a PKI; cleaned up unless the test failed."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="sl-it-%s-" % name)
        self.pki = Pki(os.path.join(self.dir, "pki"))
        self.cleanup = []

    def close(self, ok):
        for fn in reversed(self.cleanup):
            try:
                fn()
            except Exception as e:  # keep cleaning up
                log("cleanup: %s" % e)
        if ok:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            log("kept for inspection: %s" % self.dir)


def run(name, body):
    """Runs body(env) and exits 0/1; prints the elapsed time."""
    t0 = time.monotonic()
    env = Env(name)
    ok = False
    try:
        body(env)
        ok = True
    except TestFailure as e:
        log("FAIL: %s" % e)
    except Exception:
        import traceback
        traceback.print_exc()
    finally:
        env.close(ok)
    log("%s: %s in %.1f s" % (name, "PASS" if ok else "FAIL", time.monotonic() - t0))
    sys.exit(0 if ok else 1)
