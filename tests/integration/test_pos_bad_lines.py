# SPDX-License-Identifier: MIT
"""
Bad POS lines: every line of the corpus in data/pos-bad-lines/ (bad JSON,
unknown types, missing fields, Luhn-invalid and malformed card data, bad
fields, NUL bytes, invalid UTF-8, binary junk) plus generated overlong lines
(> 16 KiB, with and without a newline in sight, with NULs) gets the error code
its file name names, which must be one docs/pos-protocol.md documents; the
connection stays open and the valid request sent right after each bad line
is accepted. All of it pipelined in one write, over the Unix socket and over
an authenticated TCP connection at the same time. Among the lines: card data
in free-text fields (issue 10: a PAN, a track, an escaped PAN as txn_id or
lane) refused with invalid_field; no stored event holds card data. Then TCP without a valid
auth line: `unauthorized`, the connection is closed, nothing sent after it
on that connection is handled; the agent stays up throughout, and the spool
holds exactly the acknowledged events.

  test_pos_bad_lines.py STORELINKD
"""

import glob
import os
import re
import sys
import threading

import harness as h
import pos_harness as ph

CORPUS = os.path.join(ph.DATA, "pos-bad-lines")
DOC = os.path.join(ph.REPO, "docs", "pos-protocol.md")


def documented_codes():
    with open(DOC) as f:
        return set(re.findall(r"^\| `([a-z_]+)` \|", f.read(), re.M))


def corpus():
    """[(name, line bytes without newline, expected code)]"""
    out = []
    for p in sorted(glob.glob(os.path.join(CORPUS, "*.line"))):
        name = os.path.basename(p)[:-len(".line")]
        code = name.split("--", 1)[0]
        with open(p, "rb") as f:
            data = f.read()
        h.check(b"\n" not in data, "%s contains a newline" % name)
        out.append((name, data, code))
    m = ph.MAX_LINE
    valid = b'{"type":"loyalty_scan","lane":"9","loyalty_id":"LC-LONG-1"}'
    out += [
        # one byte over the limit, but a valid request apart from its length
        ("too_long--valid-json-padded", valid[:-1] + b" " * (m + 1 - len(valid)) + b"}",
         "too_long"),
        ("too_long--junk-16385", b"x" * (m + 1), "too_long"),
        ("too_long--1MiB-nuls-and-high-bytes", (b"\x00\xff\xfe" * 350000)[:1 << 20], "too_long"),
        ("too_long--4x-limit-of-json", b'{"type":"purchase","pan":"' + b"4" * (4 * m) + b'"}',
         "too_long"),
        # exactly at the limit: accepted
        ("ok--valid-json-at-limit", valid[:-1] + b" " * (m - len(valid)) + b"}", "ok"),
        ("ok--crlf", valid + b"\r", "ok"),
    ]
    return out


def follow_up(i, transport):
    return ('{"type":"loyalty_scan","lane":"%s","loyalty_id":"LC-AFTER-%s-%d"}' %
            (transport, transport, i)).encode()


def run_corpus(agent, cases, tcp, result):
    """Sends every case then a valid line, all in one write (plus a few empty
    lines, which get no reply); checks the replies. result: dict to fill."""
    transport = "tcp" if tcp else "unix"
    try:
        c = agent.conn(tcp=tcp)
        blob = b"\n"
        for i, (_, data, _) in enumerate(cases):
            blob += data + b"\n" + follow_up(i, transport) + b"\n"
            if i % 10 == 0:
                blob += b"\n\r\n"      # empty lines: ignored, no reply
        c.send_raw(blob)
        acked, wrong = [], []
        for i, (name, data, code) in enumerate(cases):
            rep = c.reply()
            got = "ok" if rep.get("ok") else rep.get("error")
            if got != code:
                wrong.append("%s: expected %s, got %s" % (name, code, got))
            elif rep.get("ok"):
                acked.append(rep["id"])
            elif not isinstance(rep.get("message"), str) or "ok" not in rep:
                wrong.append("%s: malformed error reply %r" % (name, rep))
            rep = c.reply()
            if not rep.get("ok"):
                wrong.append("the valid line after %s: %r" % (name, rep))
            else:
                acked.append(rep["id"])
        # nothing more: the empty lines got no reply (a probe's reply comes next)
        c.send_raw(follow_up(len(cases), transport) + b"\n")
        rep = c.reply()
        if not rep.get("ok"):
            wrong.append("an empty line got a reply, or the probe failed: %r" % rep)
        else:
            acked.append(rep["id"])
        c.close()
        result.update(acked=acked, wrong=wrong)
    except Exception as e:      # reported by the main thread
        result["error"] = "%s: %r" % (transport, e)


def unauthorized_cases(agent):
    """TCP connections whose first line is not a valid auth: one
    `unauthorized` reply, then the connection is closed and nothing after the
    first line is handled. Returns how many lines were sent after them."""
    valid = b'{"type":"loyalty_scan","lane":"1","loyalty_id":"LC-NOAUTH"}\n'
    firsts = [
        ("no auth line", valid),
        ("wrong token", b'{"type":"auth","token":"wrong-token-0123456789"}\n'),
        ("token of the right length, wrong",
         b'{"type":"auth","token":"%s"}\n' % ("x" * len(agent.auth_token)).encode()),
        ("right token + 1 byte",
         b'{"type":"auth","token":"%s!"}\n' % agent.auth_token.encode()),
        ("token prefix", b'{"type":"auth","token":"%s"}\n' % agent.auth_token[:-1].encode()),
        ("token not a string", b'{"type":"auth","token":12345678901234567890}\n'),
        ("auth without token", b'{"type":"auth"}\n'),
        ("bad JSON first", b'{"type":"auth","token":\n'),
        ("binary junk first", b"\x00\xff\xfe\x16\x03\x01\x02\x00\x01\x00\n"),
        ("empty type", b'{"type":""}\n'),
    ]
    sent_after = 0
    for what, first in firsts:
        c = agent.conn(tcp=True, auth=False)
        # the valid auth line after the bad one must not count either
        tail = valid * 3 + b'{"type":"auth","token":"%s"}\n' % agent.auth_token.encode() + valid
        c.send_raw(first + tail)
        sent_after += 4
        rep = c.reply()
        h.check(rep.get("error") == "unauthorized", "%s: %r" % (what, rep))
        h.check(c.wait_closed(), "%s: connection not closed" % what)
        h.check(c.buf == b"", "%s: more replies after unauthorized: %r" % (what, c.buf[:200]))
        c.close()
    return sent_after


def luhn(d):
    total = 0
    for i, c in enumerate(reversed(d)):
        v = int(c) * (2 if i % 2 else 1)
        total += v - 9 if v > 9 else v
    return total % 10 == 0


def card_numbers_in(payload):
    """Luhn-valid 12-19 digit runs (not all zeros) after "type" (the id's
    last group is random hex that may be all digits)."""
    tail = payload[payload.index(b'"type"'):]
    return [m.group() for m in re.finditer(rb"[0-9]{12,19}(?![0-9])", tail)
            if luhn(m.group().decode()) and m.group().strip(b"0")]


def body(env, storelinkd):
    codes = documented_codes()
    h.check(len(codes) >= 10, "could not read the error codes in %s" % DOC)
    cases = corpus()
    expected = set(code for _, _, code in cases) | {"unauthorized"}
    h.check(expected - {"ok"} <= codes, "codes not in docs/pos-protocol.md: %s" %
            sorted(expected - {"ok"} - codes))
    h.log("%d lines (%d from %s), codes %s" % (len(cases), len(glob.glob(CORPUS + "/*.line")),
                                               os.path.relpath(CORPUS, ph.REPO),
                                               ", ".join(sorted(expected))))

    agent = ph.PosAgent(storelinkd, env.dir, env.pki, log_level="debug")
    agent.start()
    env.cleanup.append(agent.kill)

    results = {"unix": {}, "tcp": {}}
    threads = [threading.Thread(target=run_corpus, args=(agent, cases, t == "tcp", results[t]))
               for t in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
        h.check(not t.is_alive(), "a POS client hung")
    acked = []
    for t, r in results.items():
        h.check("error" not in r, r.get("error", ""))
        h.check(not r["wrong"], "%s: %d wrong replies:\n  %s" % (t, len(r["wrong"]),
                                                                 "\n  ".join(r["wrong"])))
        acked += r["acked"]
    h.check(agent.alive(), "the agent died")

    sent_after = unauthorized_cases(agent)
    h.check(agent.alive(), "the agent died")

    # still serving on both transports
    for tcp in (False, True):
        c = agent.conn(tcp=tcp)
        rep = c.pipeline([{"type": "loyalty_scan", "lane": "7", "loyalty_id": "LC-FINAL-%d" % tcp}])
        h.check(rep[0].get("ok"), "%s after the bad lines: %r" % ("tcp" if tcp else "unix", rep))
        acked.append(rep[0]["id"])
        c.close()

    rows = h.wait_until(lambda: (lambda r: r if set(r) >= set(acked) else None)(
        ph.spool_rows(agent.spool_path())), 60, "the acknowledged events in the spool")
    h.check(set(rows) == set(acked), "%d rows in the spool for %d acknowledged events "
            "(lines after an unauthorized one were handled?)" % (len(rows), len(acked)))
    leaks = [i for i, p in rows.items() if card_numbers_in(p)]
    h.check(not leaks, "%d stored events hold a card number, e.g. %s" % (len(leaks), leaks[:3]))
    st = agent.status()
    h.check(st["pos"]["connections_open"] == 0,
            "%d POS connections still open" % st["pos"]["connections_open"])
    h.check(agent.stop() == 0, "storelinkd did not exit cleanly")
    h.log("%d bad lines x 2 transports + %d unauthorized TCP openings (%d lines after them "
          "ignored): every code right, %d events stored" %
          (len(cases) - 2, 10, sent_after, len(rows)))


if __name__ == "__main__":
    h.run("pos_bad_lines", lambda env: body(env, sys.argv[1]))
