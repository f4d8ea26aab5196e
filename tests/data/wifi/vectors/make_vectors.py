#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# Builds the radiotap/802.11 test vectors of tests/unit/test_wifi_parse.c:
#   accept.pcap  probe requests that must parse (link type 127, radiotap)
#   reject.pcap  packets that must be rejected, one per reason
# Everything is packed by hand (struct) so every byte, pad and bitmap is
# deliberate, and written as a classic pcap (link type 127, fixed time
# stamps so the files are reproducible). Then check each record against
# Wireshark's dissector:
#   ./make_vectors.py && ./check_tshark.sh > tshark.txt
# and compare tshark.txt with the expectations in the C test's tables.
import struct
import sys
import zlib


def write_pcap(path, packets):
    with open(path, "wb") as f:
        # magic, v2.4, thiszone, sigfigs, snaplen, linktype 127 (radiotap)
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 127))
        for i, p in enumerate(packets):
            # 2026-01-01T00:00:00Z + i seconds + i microseconds
            f.write(struct.pack("<IIII", 1767225600 + i, i, len(p), len(p)))
            f.write(p)

# radiotap present bits
TSFT, FLAGS, RATE, CHANNEL, DBM_SIG = 0, 1, 2, 3, 5
ANTENNA, RX_FLAGS, XCHANNEL = 11, 14, 18
RT_NS, VENDOR_NS, EXT = 29, 30, 31


def bits(*b):
    v = 0
    for x in b:
        v |= 1 << x
    return v


def ie(eid, body):
    return bytes([eid, len(body)]) + body


SA_RANDOM = bytes.fromhex("da a1 19 00 11 22")       # locally administered
SA_GLOBAL = bytes.fromhex("00 1b 63 84 45 e6")       # an Apple OUI
RATES = bytes([0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24])
EXT_RATES = bytes([0x30, 0x48, 0x60, 0x6c])
HT_CAP = bytes([0x2d, 0x01, 0x17, 0xff] + [0] * 22)   # 26 bytes
EXT_CAP = bytes([0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x00, 0x40])


def probe(sa, seq, ssid=b"store-wifi", extra=b"", fc=0x0040, htc=False):
    hdr = struct.pack("<HH", fc, 0) + b"\xff" * 6 + sa + b"\xff" * 6
    hdr += struct.pack("<H", seq << 4)
    if htc:
        hdr += b"\x00\x00\x00\x00"
    return (hdr + ie(0, ssid) + ie(1, RATES) + ie(50, EXT_RATES) +
            ie(3, b"\x06") + ie(45, HT_CAP) + ie(127, EXT_CAP) + extra)


def rt(words, fields):
    """Radiotap header: present words, then field bytes already padded
    by the caller relative to the header start."""
    body = b"".join(struct.pack("<I", w) for w in words) + fields
    return struct.pack("<BBH", 0, 0, 4 + len(body)) + body


def fcs(frame):
    return frame + struct.pack("<I", zlib.crc32(frame) & 0xffffffff)


accept = []
# A1: Flags, Channel 2437 (2 GHz|CCK), dBm signal -42; 1 pad byte before Channel
accept.append(rt([bits(FLAGS, CHANNEL, DBM_SIG)],
                 b"\x00" + b"\x00" + struct.pack("<HH", 2437, 0x00a0) + b"\xd6")
              + probe(SA_RANDOM, 100))
# A2: same body with an FCS, Flags = 0x10 (FCS at end)
accept.append(rt([bits(FLAGS, CHANNEL, DBM_SIG)],
                 b"\x10" + b"\x00" + struct.pack("<HH", 2437, 0x00a0) + b"\xd5")
              + fcs(probe(SA_RANDOM, 101)))
# A3: mac80211 layout: combined -40 in word 0, antennas 0 (-45) and 1 (-41)
#     in two more radiotap namespaces; TSFT at 16 (8-aligned), Channel 2462
accept.append(rt([bits(TSFT, FLAGS, RATE, CHANNEL, DBM_SIG, RX_FLAGS, RT_NS, EXT),
                  bits(DBM_SIG, ANTENNA, RT_NS, EXT),
                  bits(DBM_SIG, ANTENNA)],
                 struct.pack("<Q", 0x1122334455667788) + b"\x00" + b"\x02" +
                 struct.pack("<HH", 2462, 0x00a0) + struct.pack("<b", -40) + b"\x00" +
                 struct.pack("<H", 0) +
                 struct.pack("<bB", -45, 0) + struct.pack("<bB", -41, 1))
              + probe(SA_GLOBAL, 4095))
# A4: no combined value: antenna 0 -70, antenna 1 -55; Channel 5180 (5 GHz|OFDM)
accept.append(rt([bits(FLAGS, CHANNEL, RT_NS, EXT),
                  bits(DBM_SIG, ANTENNA, RT_NS, EXT),
                  bits(DBM_SIG, ANTENNA)],
                 b"\x00" + b"\x00" + struct.pack("<HH", 5180, 0x0140) +
                 struct.pack("<bB", -70, 0) + struct.pack("<bB", -55, 1))
              + probe(SA_GLOBAL, 0))
# A5: combined -50, then a vendor namespace (OUI 00:11:22 sub 1, 5 bytes of
#     data), back to radiotap: TSFT (8-aligned after the odd vendor data),
#     antenna 1 at -60
accept.append(rt([bits(FLAGS, CHANNEL, DBM_SIG, VENDOR_NS, EXT),
                  bits(0, 1, RT_NS, EXT),
                  bits(TSFT, DBM_SIG, ANTENNA)],
                 b"\x00" + b"\x00" + struct.pack("<HH", 2412, 0x00a0) +
                 struct.pack("<b", -50) + b"\x00" +
                 b"\x00\x11\x22\x01" + struct.pack("<H", 5) + b"\xaa\xbb\xcc\xdd\xee" +
                 b"\x00" * 5 + struct.pack("<Q", 1) + struct.pack("<bB", -60, 1))
              + probe(SA_RANDOM, 7))
# A6: the only signal sits after a vendor namespace: -33 on antenna 2;
#     Channel 2472
accept.append(rt([bits(CHANNEL, VENDOR_NS, EXT),
                  bits(0, RT_NS, EXT),
                  bits(TSFT, DBM_SIG, ANTENNA)],
                 struct.pack("<HH", 2472, 0x00a0) +
                 b"\x00\x11\x22\x01" + struct.pack("<H", 3) + b"\x01\x02\x03" +
                 b"\x00" * 3 + struct.pack("<Q", 2) + struct.pack("<bB", -33, 2))
              + probe(SA_RANDOM, 8))
# A7: XChannel only (flags, freq 5745, channel 149, maxpower 20), -71
accept.append(rt([bits(FLAGS, DBM_SIG, XCHANNEL)],
                 b"\x00" + struct.pack("<b", -71) + b"\x00\x00" +
                 struct.pack("<IHBB", 0x00000140, 5745, 149, 20))
              + probe(SA_GLOBAL, 9))
# A8: +HTC/Order management frame (4-byte HT Control), wildcard SSID,
#     VHT caps, Apple vendor element, HE capabilities extension element
accept.append(rt([bits(FLAGS, CHANNEL, DBM_SIG)],
                 b"\x00" + b"\x00" + struct.pack("<HH", 5180, 0x0140) + b"\xc0")
              + probe(SA_RANDOM, 10, ssid=b"", fc=0x8040, htc=True,
                      extra=ie(191, bytes([0x32, 0x00, 0x80, 0x03] + [0xff, 0xff, 0, 0] * 2)) +
                      ie(221, bytes([0x00, 0x17, 0xf2, 0x0a, 0x00, 0x01, 0x04])) +
                      ie(255, bytes([0x23] + [0x01, 0x08, 0x08, 0x18, 0x00, 0x80] +
                                    [0x02] + [0] * 10 + [0xfa, 0xff, 0xfa, 0xff]))))
# A9: a second radiotap-namespace word without a namespace switch: its bit
#     0 is field 32, unknown; fields before it are kept, the frame still
#     starts at it_len
accept.append(rt([bits(FLAGS, CHANNEL, DBM_SIG, EXT), bits(0)],
                 b"\x00" + b"\x00" + struct.pack("<HH", 2412, 0x00a0) + b"\xb0" +
                 b"\x00" * 3 + b"\xde\xad\xbe\xef")
              + probe(SA_GLOBAL, 11))

base = probe(SA_RANDOM, 200)
rt_ok = rt([bits(FLAGS, CHANNEL, DBM_SIG)],
           b"\x00" + b"\x00" + struct.pack("<HH", 2437, 0x00a0) + b"\xd6")
reject = []
# R1: truncated radiotap (6 bytes)
reject.append(b"\x00\x00\x08\x00\x00\x00")
# R2: it_len 64 past the end of a 40-byte packet
reject.append(struct.pack("<BBHI", 0, 0, 64, 0) + base[:32])
# R3: Flags then Channel with it_len 13: Channel, 2-aligned at 10, ends at
#     14 (it would fit unaligned at 9..13)
reject.append(struct.pack("<BBHI", 0, 0, 13, bits(FLAGS, CHANNEL)) +
              b"\x00" + struct.pack("<HH", 2437, 0x00a0) + base)
# R4: extended present bitmap chain runs past it_len (8)
reject.append(struct.pack("<BBHI", 0, 0, 8, bits(EXT)) + base)
# R5: vendor namespace skip_length (200) past it_len
reject.append(rt([bits(VENDOR_NS, EXT), bits(0)],
                 b"\x00\x11\x22\x01" + struct.pack("<H", 200) + b"\x00\x00") + base)
# R6: radiotap version 1
reject.append(struct.pack("<BBHI", 1, 0, 8, 0) + base)
# R7: beacon (type 0 subtype 8)
reject.append(rt_ok + probe(SA_GLOBAL, 1, fc=0x0080))
# R8: probe response (subtype 5)
reject.append(rt_ok + probe(SA_GLOBAL, 2, fc=0x0050))
# R9: data frame, ToDS
reject.append(rt_ok + probe(SA_GLOBAL, 3, fc=0x0108))
# R10: last element (Extended Capabilities, len 8) cut to 4 bytes
reject.append(rt_ok + base[:-4])
# R11: SSID element of 33 bytes
reject.append(rt_ok + probe(SA_RANDOM, 4, ssid=b"A" * 33))
# R12: 802.11 header cut at 20 bytes
reject.append(rt_ok + base[:20])
# R13: Flags says FCS, but the frame has none: stripping 4 bytes cuts the
#      last element
reject.append(rt([bits(FLAGS, CHANNEL, DBM_SIG)],
                 b"\x10" + b"\x00" + struct.pack("<HH", 2437, 0x00a0) + b"\xd6") + base)
# R14: Flags says the FCS check failed (0x50 = FCS at end | bad FCS)
reject.append(rt([bits(FLAGS, CHANNEL, DBM_SIG)],
                 b"\x50" + b"\x00" + struct.pack("<HH", 2437, 0x00a0) + b"\xd6") +
              fcs(base)[:-1] + b"\x00")
# R15: a lone element id byte at the end (no length byte)
reject.append(rt_ok + base + b"\xdd")
# R16: Protected bit set on a probe request
reject.append(rt_ok + probe(SA_GLOBAL, 5, fc=0x4040))
# R17: FCS flag with only 2 bytes after the radiotap header
reject.append(rt([bits(FLAGS)], b"\x10") + b"\x40\x00")


def fingerprint(frame, hdr_len):
    """The element fingerprint as docs/wifi.md defines it (FNV-1a 64)."""
    h = 0xcbf29ce484222325

    def put(b):
        nonlocal h
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff

    keep = {1: None, 50: None, 127: None, 45: 2, 191: 4, 221: 4, 255: 1}
    off = hdr_len
    while off < len(frame):
        eid, elen = frame[off], frame[off + 1]
        body = frame[off + 2:off + 2 + elen]
        put(eid)
        if eid in keep:
            n = len(body) if keep[eid] is None else min(keep[eid], len(body))
            put(n)
            for b in body[:n]:
                put(b)
        off += 2 + elen
    return h


write_pcap(sys.argv[1] if len(sys.argv) > 1 else "accept.pcap", accept)
write_pcap(sys.argv[2] if len(sys.argv) > 2 else "reject.pcap", reject)
print(f"{len(accept)} accepted, {len(reject)} rejected vectors written")
for i, p in enumerate(accept):
    it_len = struct.unpack_from("<H", p, 2)[0]
    flags = p[8] if struct.unpack_from("<I", p, 4)[0] & 2 else 0
    frame = p[it_len:len(p) - (4 if flags & 0x10 else 0)]
    hdr = 28 if frame[1] & 0x80 else 24
    print(f"A{i + 1}: fp 0x{fingerprint(frame, hdr):016x}")
