#!/usr/bin/env python3
"""remote-write.py: a Prometheus remote-write 1.0 body on stdout.

Reads series from stdin, one per line: "name{k=v,...} value timestamp_ms"
(labels optional; no spaces inside braces), and writes the WriteRequest
protobuf, snappy-compressed in the block format, as Prometheus sends it.
The snappy stream uses literal chunks only: valid snappy that any decoder
reads.  For tests: no dependency beyond Python.
"""
import re
import struct
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    key = varint(num << 3 | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def label(name, value):
    return field(1, 2, name.encode()) + field(2, 2, value.encode())


def sample(value, ts):
    return field(1, 1, struct.pack('<d', value)) + \
        field(2, 0, varint(ts & 0xffffffffffffffff))


def snappy_literal(data):
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 60):
        chunk = data[i:i + 60]
        out.append((len(chunk) - 1) << 2)
        out += chunk
    return bytes(out)


req = bytearray()
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    m = re.match(r'^([^{\s]+)(?:\{([^}]*)\})?\s+(\S+)\s+(-?\d+)$', line)
    if not m:
        sys.exit('remote-write.py: bad line: ' + line)
    name, labels, value, ts = m.groups()
    ts_body = field(1, 2, label("__name__", name))
    for kv in (labels.split(',') if labels else []):
        k, v = kv.split('=', 1)
        ts_body += field(1, 2, label(k, v))
    ts_body += field(2, 2, sample(float(value), int(ts)))
    req += field(1, 2, bytes(ts_body))
sys.stdout.buffer.write(snappy_literal(bytes(req)))
