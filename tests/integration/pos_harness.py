# SPDX-License-Identifier: MIT
"""
POS-side helpers for the integration tests (builds on harness.py):

  NoBroker     a broker address where nothing listens: the agent keeps every
               event in its spool, so the tests can read them there
  PosAgent     harness.Agent with both POS listeners (tcp: with an auth token
               file, and unix:), an optional state_dir elsewhere (a tmpfs)
               and [pos]/[spool] overrides
  PosConn      one POS connection (Unix or TCP, authenticated or not) that
               sends raw bytes or request dicts, pipelined, and reads the
               replies in order
  pos_requests requests with distinct card numbers (pan, track1, track2, both),
               loyalty ids in several spellings, and what each one must become
               (the card and loyalty tokens, computed independently)
  spool_rows   (id, payload) of every row of a spool.db, read with sqlite3
  grep_needles which of many byte strings occur in some files (GNU grep -F,
               fast for thousands of needles over a core dump)
  tmpfs_mount / tmpfs_umount

Like harness.py: no fixed sleeps, every wait polls with a generous deadline.
"""

import json
import os
import random
import socket
import sqlite3
import subprocess
import tempfile

import harness as h

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
MAX_LINE = 16384


class NoBroker:
    """An address where no broker answers: the publisher keeps retrying and
    the events stay in the spool."""

    def __init__(self):
        self.port = h.free_port()

    def stop(self):
        pass


class PosAgent(h.Agent):
    """storelinkd listening on tcp:127.0.0.1:<free port> (auth token file) and
    unix:<dir>/pos.sock. pos: extra [pos] keys; state_dir: put the spool
    elsewhere (e.g. on a small tmpfs)."""

    def __init__(self, binary, workdir, pki, broker=None, tcp=True, pos=None, spool=None,
                 mqtt=None, state_dir=None, log_level=None, name="agent"):
        self.tcp = tcp
        self.pos_extra = dict(pos or {})
        self.tcp_port = h.free_port() if tcp else None
        self.auth_token = "tok-" + os.urandom(16).hex()
        h.Agent.__init__(self, binary, workdir, broker or NoBroker(), pki, mqtt=mqtt,
                         spool=spool, name=name)
        if log_level:
            self.log_level = log_level
        self.token_path = os.path.join(self.dir, "pos.token")
        fd = os.open(self.token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (self.auth_token + "\n").encode())
        os.close(fd)
        if state_dir:
            self.state_dir = state_dir
            self.ctl_path = os.path.join(state_dir, "control.sock")
        self.configure(self._mqtt, self._spool)

    def configure(self, mqtt=None, spool=None):
        self._mqtt = dict(mqtt or {})
        self._spool = dict(spool or {})
        if not hasattr(self, "token_path"):
            return  # called from harness.Agent.__init__: written once we are set up
        m = {
            "host": "127.0.0.1",
            "port": str(self.broker.port),
            "ca_file": self.pki.path("ca", "crt"),
            "cert_file": self.pki.path("client", "crt"),
            "key_file": self.pki.path("client", "key"),
            "topic_prefix": h.PREFIX,
            "keepalive": "10",
            "backoff_min_ms": "200",
            "backoff_max_ms": "2000",
        }
        m.update(self._mqtt)
        sp = {"commit_ms": "20", "sync": "normal"}
        sp.update(self._spool)
        listen = []
        if self.tcp:
            listen.append("tcp:127.0.0.1:%d" % self.tcp_port)
        listen.append("unix:%s" % self.pos_path)  # last: once it exists, all are bound
        with open(self.conf_path, "w") as f:
            f.write("[agent]\ntenant = %s\nstore_id = %s\ngateway_id = %s\n" %
                    (h.TENANT, h.STORE, h.GATEWAY))
            f.write("state_dir = %s\nlog_level = %s\n\n" % (self.state_dir, self.log_level))
            f.write("[mqtt]\n")
            for k, v in m.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))
            f.write("\n[keys]\nmaster_key_file = %s\nkey_id = v1\n\n" % self.key_path)
            f.write("[pos]\nlisten = %s\n" % ", ".join(listen))
            if self.tcp:
                f.write("auth_token_file = %s\n" % self.token_path)
            for k, v in self.pos_extra.items():
                f.write("%s = %s\n" % (k, v))
            f.write("\n[spool]\n")
            for k, v in sp.items():
                f.write("%s = %s\n" % (k, v))

    def set_spool(self, **kw):
        self._spool.update({k: str(v) for k, v in kw.items()})
        self.configure(self._mqtt, self._spool)

    def start(self, timeout=60):
        """Starts; when the TCP port was taken meanwhile, picks another."""
        for attempt in range(5):
            try:
                h.Agent.start(self, timeout)
                # a socket file exists from bind(), connections are taken from listen()
                h.wait_until(self._listening, timeout, "the POS and control sockets to listen")
                return
            except h.TestFailure:
                if not self.tcp or "Address already in use" not in self.stderr() or attempt == 4:
                    raise
                self.tcp_port = h.free_port()
                self.configure(self._mqtt, self._spool)

    def _listening(self):
        """The POS socket and then the control socket take connections."""
        if self.proc.poll() is not None:
            return True     # exited: h.Agent.start's caller sees it
        for path in (self.pos_path, self.ctl_path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
            except (ConnectionRefusedError, FileNotFoundError):
                return False
            finally:
                s.close()
        return True

    def conn(self, tcp=False, auth=True, timeout=120):
        return PosConn(self, tcp=tcp, auth=auth, timeout=timeout)

    def spool_path(self):
        return os.path.join(self.state_dir, "spool.db")


class PosConn:
    """One POS connection. Replies are read in request order."""

    def __init__(self, agent, tcp=False, auth=True, timeout=120):
        if tcp:
            self.sock = socket.create_connection(("127.0.0.1", agent.tcp_port), timeout=timeout)
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(agent.pos_path)
        self.tcp = tcp
        self.buf = b""
        if tcp and auth:
            self.send_raw(json.dumps({"type": "auth", "token": agent.auth_token}).encode() + b"\n")
            rep = self.reply()
            h.check(rep == {"ok": True}, "auth refused: %r" % rep)

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def reply_line(self):
        """The next reply line (bytes, without newline); ConnectionError at EOF."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("POS connection closed by the agent")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def reply(self):
        return json.loads(self.reply_line())

    def wait_closed(self):
        """True when the agent closes the connection (after any replies)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True

    def pipeline(self, reqs, window=128, on_reply=None):
        """Sends request dicts (fields starting with '_' are not sent), up to
        window unanswered; returns the replies in order. on_reply(req, rep)
        is called as each reply arrives."""
        replies = []
        for i in range(0, len(reqs), window):
            chunk = reqs[i:i + window]
            self.send_raw(b"".join(wire_line(r) for r in chunk))
            for r in chunk:
                rep = self.reply()
                replies.append(rep)
                if on_reply:
                    on_reply(r, rep)
        return replies


def wire_line(req):
    return json.dumps({k: v for k, v in req.items() if not k.startswith("_")},
                      separators=(",", ":")).encode() + b"\n"


# ---- requests with distinct identifiers ---------------------------------------

# IIN prefixes and lengths of the big brands (pan.c knows their ranges)
_IIN = [("4", (13, 16, 19)), ("51", (16,)), ("55", (16,)), ("2221", (16,)), ("2720", (16,)),
        ("34", (15,)), ("37", (15,)), ("6011", (16, 19)), ("65", (16,)), ("3528", (16, 19)),
        ("62", (16, 17, 18, 19)), ("36", (14,)), ("6759", (12, 13, 15, 18)), ("50", (12, 16))]


def distinct_pans(n, rng):
    seen, out = set(), []
    while len(out) < n:
        prefix, lengths = rng.choice(_IIN)
        length = rng.choice(lengths)
        body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
        pan = h.luhn_complete(body)
        if pan not in seen:
            seen.add(pan)
            out.append(pan)
    return out


def _spaced(pan, sep):
    return sep.join(pan[i:i + 4] for i in range(0, len(pan), 4))


def pos_requests(n, rng, master_hex, tag="T"):
    """n requests, each with private fields: _card / _loyalty (expected tokens
    or None), _needles (raw identifiers it carries, as bytes: the canonical
    PAN, the strings as sent, track data, the cardholder name, the
    discretionary data, loyalty ids as sent and canonical)."""
    pans = distinct_pans(n, rng)
    reqs = []
    for i in range(n):
        pan = pans[i]
        kind = i % 10
        needles = []
        loyalty = None
        if kind >= 8:
            r = {"type": "loyalty_scan", "lane": str(1 + i % 12)}
            loyalty = True
        else:
            r = {"type": "purchase", "lane": str(1 + i % 12), "txn_id": "%s-%d" % (tag, i),
                 "amount": "%d.%02d" % (rng.randrange(1, 900), rng.randrange(100)),
                 "currency": rng.choice(("EUR", "USD", "GBP"))}
            # track 2 is at most 40 characters: ";" PAN "=" YYMM SSS disc "?"
            disc = "".join(rng.choice("0123456789") for _ in range(min(13, 30 - len(pan))))
            name = "TEST%06d/CARD" % rng.randrange(10 ** 6)
            if kind <= 4:
                sent = pan if kind != 3 else _spaced(pan, rng.choice((" ", "-")))
                r["pan"] = sent
                needles.append(sent)
            if kind in (5, 7):
                r["track2"] = ";%s=3012101%s?" % (pan, disc)
                needles += [r["track2"], "=3012101" + disc]
            if kind in (6, 7):
                r["track1"] = "%%B%s^%s^3012101%s?" % (pan, name, disc)
                needles += [r["track1"], name, "3012101" + disc]
            needles.append(pan)
            r["_card"] = h.token(master_hex, h.TENANT, "pan", pan)
            r["_pan"] = pan
            loyalty = i % 3 == 0
        if loyalty:
            raw = rng.choice(("lc-%04d-%06d", "LC %04d %06d", "Lc%04d-%06d")) % (
                rng.randrange(10 ** 4), i)
            canon = h.loyalty_canonical(raw)
            r["loyalty_id"] = raw
            needles += [raw, canon]
            r["_loyalty"] = h.token(master_hex, h.TENANT, "loyalty", canon)
        r["_needles"] = [x.encode() for x in needles]
        reqs.append(r)
    return reqs


def check_event(req, payload):
    """The stored event matches the request: type, txn id, tokens."""
    ev = json.loads(payload)
    h.check(ev["type"] == req["type"], "event type %s for a %s" % (ev["type"], req["type"]))
    ids = ev.get("ids", {})
    h.check(ids.get("card") == req.get("_card"), "wrong card token for %s" %
            req.get("txn_id", "a loyalty scan"))
    h.check(ids.get("loyalty") == req.get("_loyalty"), "wrong loyalty token")
    if req["type"] == "purchase":
        h.check(ev["txn"]["id"] == req["txn_id"], "event of txn %s answered for txn %s" %
                (ev["txn"]["id"], req["txn_id"]))
    return ev


# ---- the spool, read with SQLite ------------------------------------------------

def spool_rows(path):
    """{id: payload bytes} of every committed row (the agent may be running)."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)
    try:
        rows = db.execute("SELECT id, payload FROM events").fetchall()
    finally:
        db.close()
    out = {}
    for i, p in rows:
        h.check(i not in out, "event id %s twice in the spool" % i)
        out[i] = bytes(p)
    return out


def spool_integrity(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


# ---- searching for raw identifiers ----------------------------------------------

def grep_needles(paths, needles):
    """The needles (bytes without newlines) that occur in any of paths, as a
    set of bytes. GNU grep -F (Aho-Corasick) scans a core dump for thousands
    of needles at once; -a: binary as text; matches never span a newline,
    and no needle contains one."""
    needles = sorted(set(needles))
    paths = [p for p in paths if os.path.exists(p)]
    if not needles or not paths:
        return set()
    for n in needles:
        assert b"\n" not in n and n, "bad needle"
    with tempfile.NamedTemporaryFile(prefix="sl-needles-", delete=False) as f:
        f.write(b"\n".join(needles) + b"\n")
        pat = f.name
    try:
        r = subprocess.run(["grep", "-a", "-o", "-h", "-F", "-f", pat] + paths,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, LC_ALL="C"))
        if r.returncode not in (0, 1):
            raise h.TestFailure("grep: %s" % r.stderr.decode(errors="replace"))
        found = set(r.stdout.split(b"\n")) - {b""}
    finally:
        os.unlink(pat)
    # -o prints the longest match at a position: map it back to every needle
    # it contains, so that a hit is reported under each raw identifier
    out = set()
    for m in found:
        out.update(n for n in needles if n in m)
    return out


def redact(needle):
    """How a found identifier is reported: never in full."""
    s = needle.decode(errors="replace")
    return "%s…%s (%d bytes)" % (s[:2], s[-2:], len(s))


# ---- tmpfs ------------------------------------------------------------------

def tmpfs_mount(path, size):
    """Mounts a tmpfs of size ('2m') on path; returns None or why it could not."""
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0750" % size, "tmpfs", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode:
        return r.stdout.decode(errors="replace").strip() or "mount exited with %d" % r.returncode
    return None


def tmpfs_umount(path):
    r = subprocess.run(["umount", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode:
        subprocess.run(["umount", "-l", path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def fill(path, chunk=65536):
    """Writes a file until the file system is full; returns its size."""
    import errno
    total = 0
    buf = b"\xa5" * chunk
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                total += f.write(buf)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                if len(buf) == 1:
                    return total
                buf = buf[:max(len(buf) // 16, 1)]


def rng_for(name):
    seed = int(os.environ.get("SL_IT_SEED", "0")) or random.randrange(1, 10 ** 9)
    h.log("%s: seed %d (set SL_IT_SEED to repeat)" % (name, seed))
    return random.Random(seed)


# ---- where in a core dump --------------------------------------------------------

def core_segments(path):
    """[(file offset, vaddr, size)] of the PT_LOAD segments of an ELF64 core."""
    import struct
    with open(path, "rb") as f:
        hdr = f.read(64)
        if hdr[:4] != b"\x7fELF" or hdr[4] != 2 or hdr[5] != 1:
            raise h.TestFailure("%s: not a little-endian ELF64 core" % path)
        phoff = struct.unpack_from("<Q", hdr, 32)[0]
        phentsize, phnum = struct.unpack_from("<HH", hdr, 54)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    segs = []
    for i in range(phnum):
        p_type, _, off, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", ph, i * phentsize)
        if p_type == 1 and filesz:
            segs.append((off, vaddr, filesz))
    return segs


def read_maps(pid):
    """[(start, end, perms, name)] from /proc/PID/maps."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            start, end = (int(x, 16) for x in parts[0].split("-"))
            out.append((start, end, parts[1], parts[5].strip() if len(parts) > 5 else "[anon]"))
    return out


def locate_in_core(core, maps, needle, limit=4):
    """Where needle occurs in the core: ["0x7ff… [heap] rw-p", …]."""
    segs = core_segments(core)
    with open(core, "rb") as f:
        blob = f.read()
    out, pos = [], blob.find(needle)
    while pos >= 0 and len(out) < limit:
        where = "file offset %d (no segment)" % pos
        for off, vaddr, size in segs:
            if off <= pos < off + size:
                addr = vaddr + pos - off
                name = next(("%s %s +0x%x" % (n, p, addr - s) for s, e, p, n in maps
                             if s <= addr < e), "unmapped")
                where = "0x%x %s" % (addr, name)
                break
        out.append(where)
        pos = blob.find(needle, pos + 1)
    return out


def core_estimate(maps):
    """Bytes gcore would write for these mappings (anonymous or writable ones,
    as with the default coredump_filter): a sanitizer build maps terabytes."""
    total = 0
    for start, end, perms, name in maps:
        anon = name == "[anon]" or name.startswith("[heap") or name.startswith("[stack") or \
            name.startswith("[anon:")
        if anon or "w" in perms:
            total += end - start
    return total
