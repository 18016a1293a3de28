# Hand-encodes Flotel's fixed remote-write request (RemoteWrite/WriteRequestEncoderSnapshotTests.cs) with
# nothing but the protobuf encoding guide, as an oracle independent of both C# implementations.
# Run: python3 encode_fixed_request.py > python3_fixed_request.hex
import struct

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)

def field_bytes(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload

def string(num, s):
    b = s.encode('utf-8')
    return field_bytes(num, b) if b else b''

def sample(ts, value_bits):
    out = b''
    if value_bits not in (0, 0x8000000000000000):
        out += varint(1 << 3 | 1) + struct.pack('<Q', value_bits)
    if ts != 0:
        out += varint(2 << 3 | 0) + varint(ts)
    return out

def dbits(d):
    return struct.unpack('<Q', struct.pack('<d', d))[0]

def series(labels, samples):
    out = b''
    for name, value in sorted(labels):
        if value:
            out += field_bytes(1, string(1, name) + string(2, value))
    for ts, bits in samples:
        out += field_bytes(2, sample(ts, bits))
    return out

req = b''
req += field_bytes(1, series(
    [('job', 'node'), ('__name__', 'node_memory_Mapped_bytes'), ('instance', 'localhost:9100'), ('edgedeviceid', 'dev1')],
    [(1652344262000, dbits(31191040.0)), (1652344267000, dbits(31195136.0))]))
req += field_bytes(1, series(
    [('__name__', 'up'), ('job', 'node'), ('note', 'é€ "q"\n'), ('empty', '')],
    [(1652344262000, dbits(1.0)), (1652344267000, 0x7ff0000000000002), (0, 0), (-1, dbits(float('-inf')))]))
req += field_bytes(3, varint(1 << 3 | 0) + varint(2) + string(2, 'node_memory_Mapped_bytes')
                   + string(4, 'Memory information field Mapped_bytes.') + string(5, 'bytes'))
print(req.hex().upper())
