#!/usr/bin/env python3
"""A compile worker that lies (adversarial review): it forwards each request to the real
orc-jit-worker and changes the reply before the host sees it.

LYING_PROXY_WORKER: the real worker's path. LYING_PROXY_MODE:
  mutate   the object, with structure-aware mutations (relocations, symbols, section headers,
           .eh_frame, random bytes), seeded by the module name's number
  amplify  the reply's JSON header: a `referenced` list of millions of empty strings
  flags:<section>:<value>  that section's sh_flags set to value
  reloc-type:<rela section>:<entry>:<type>  that relocation's type set to type
  addr:<section>:<value>  that section's sh_addr set to value
  syminfo:<symbol>:<value>  that symbol's st_info set to value
  pass     unchanged
"""
import json
import os
import random
import struct
import subprocess
import sys

inp = sys.stdin.buffer
out = sys.stdout.buffer


def read_exact(f, n):
    b = b""
    while len(b) < n:
        chunk = f.read(n - len(b))
        if not chunk:
            return None
        b += chunk
    return b


def read_frame(f):
    n = read_exact(f, 4)
    if n is None:
        return None
    header = read_exact(f, struct.unpack("<I", n)[0])
    blob_len = struct.unpack("<Q", read_exact(f, 8))[0]
    blob = read_exact(f, blob_len)
    return header, blob


def write_frame(f, header, blob):
    f.write(struct.pack("<I", len(header)))
    f.write(header)
    f.write(struct.pack("<Q", len(blob)))
    f.write(blob)
    f.flush()


def sections(obj):
    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", obj, 0x3A)
    out = []
    for i in range(shnum):
        at = shoff + i * shentsize
        name, typ, flags, addr, off, size, link, info, align, entsize = struct.unpack_from(
            "<IIQQQQIIQQ", obj, at)
        out.append(dict(index=i, header=at, type=typ, offset=off, size=size, entsize=entsize,
                        link=link, info=info, name=name))
    strtab = out[shstrndx]
    for s in out:
        start = strtab["offset"] + s["name"]
        end = obj.index(b"\0", start)
        s["sname"] = obj[start:end].decode("latin1")
    return out


INTERESTING64 = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
                 0x100000000, 0x7fffffffffffffff, 0x8000000000000000, 0xffffffffffffffff,
                 0xfffffffffffffff0, 4096, 65536]


def val(rng, bits):
    if rng.random() < 0.5:
        v = rng.choice(INTERESTING64)
    else:
        v = rng.getrandbits(bits)
    if rng.random() < 0.2:
        v = (v + rng.randint(-8, 8))
    return v % (1 << bits)


def put(obj, at, fmt, v):
    if 0 <= at and at + struct.calcsize(fmt) <= len(obj):
        struct.pack_into(fmt, obj, at, v)


def mutate(obj, seed):
    rng = random.Random(seed)
    obj = bytearray(obj)
    try:
        secs = sections(bytes(obj))
    except Exception:
        secs = []
    for _ in range(1 + rng.randrange(3)):
        kind = rng.randrange(7)
        relas = [s for s in secs if s["type"] == 4 and s["size"] >= 24]
        syms = [s for s in secs if s["type"] == 2 and s["size"] >= 48]
        ehs = [s for s in secs if s["sname"] == ".eh_frame" and s["size"] > 0]
        if kind <= 1 and relas:
            s = rng.choice(relas)
            e = s["offset"] + 24 * rng.randrange(s["size"] // 24)
            field = rng.randrange(4)
            if field == 0:
                put(obj, e, "<Q", val(rng, 64) if rng.random() < 0.5 else rng.randrange(0, 0x200))
            elif field == 1:
                put(obj, e + 8, "<I", rng.randrange(0, 48) if rng.random() < 0.8 else val(rng, 32))
            elif field == 2:
                put(obj, e + 12, "<I", rng.randrange(0, 40) if rng.random() < 0.8 else val(rng, 32))
            else:
                put(obj, e + 16, "<q", val(rng, 64) - (1 << 63))
        elif kind == 2 and syms:
            s = syms[0]
            e = s["offset"] + 24 * (1 + rng.randrange(s["size"] // 24 - 1))
            field = rng.randrange(5)
            if field == 0:
                put(obj, e + 4, "<B", rng.getrandbits(8))
            elif field == 1:
                put(obj, e + 5, "<B", rng.getrandbits(8))
            elif field == 2:
                put(obj, e + 6, "<H", rng.choice([0, 1, 2, 3, 0xfff1, 0xfff2, 0xffff, rng.randrange(0, 40)]))
            elif field == 3:
                put(obj, e + 8, "<Q", val(rng, 64))
            else:
                put(obj, e + 16, "<Q", val(rng, 64))
        elif kind == 3 and secs:
            s = rng.choice(secs)
            field = rng.choice([4, 8, 16, 24, 32, 40, 44, 48, 56])
            fmt = "<I" if field in (4, 40, 44) else "<Q"
            put(obj, s["header"] + field, fmt, val(rng, 32 if fmt == "<I" else 64))
        elif kind == 4 and ehs:
            s = rng.choice(ehs)
            at = s["offset"] + rng.randrange(s["size"])
            if rng.random() < 0.5:
                obj[at] = rng.getrandbits(8)
            else:
                put(obj, at - at % 4, "<I", val(rng, 32))
        else:
            for _ in range(1 + rng.randrange(4)):
                at = rng.randrange(len(obj))
                obj[at] = rng.choice([0, 0xff, obj[at] ^ (1 << rng.randrange(8)), rng.getrandbits(8)])
    return bytes(obj)


def main():
    mode = os.environ.get("LYING_PROXY_MODE", "pass")
    real = subprocess.Popen([os.environ["LYING_PROXY_WORKER"]], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    hello = read_frame(real.stdout)
    write_frame(out, *hello)
    while True:
        request = read_frame(inp)
        if request is None:
            return
        write_frame(real.stdin, *request)
        header, blob = read_frame(real.stdout)
        name = json.loads(request[0])["name"]
        digits = "".join(c for c in name if c.isdigit()) or "0"
        if mode == "mutate" and blob:
            original = blob
            blob = mutate(blob, int(digits))
            dump = os.environ.get("LYING_PROXY_DUMP")
            if dump:
                open(os.path.join(dump, "original.o"), "wb").write(original)
                open(os.path.join(dump, "mutant-%s.o" % digits), "wb").write(blob)
        elif mode.startswith("flags:") and blob:
            # flags:<section>:<value>: that section's sh_flags set to value
            _, section, value = mode.split(":")
            obj = bytearray(blob)
            hits = 0
            for s in sections(blob):
                if s["sname"] == section:
                    struct.pack_into("<Q", obj, s["header"] + 8, int(value, 0))
                    hits += 1
            require(hits, "section " + section)
            blob = bytes(obj)
        elif mode.startswith("syminfo:") and blob:
            # syminfo:<symbol>:<value>: that symbol's st_info set to value
            _, symbol, value = mode.split(":")
            obj = bytearray(blob)
            secs = sections(blob)
            hits = 0
            for s in secs:
                if s["type"] != 2:
                    continue
                strtab = secs[s["link"]]
                for at in range(s["offset"], s["offset"] + s["size"], 24):
                    name_at = strtab["offset"] + struct.unpack_from("<I", blob, at)[0]
                    name = blob[name_at:blob.index(b"\0", name_at)].decode("latin1")
                    if name == symbol:
                        obj[at + 4] = int(value, 0)
                        hits += 1
            require(hits, "symbol " + symbol)
            blob = bytes(obj)
        elif mode.startswith("addr:") and blob:
            # addr:<section>:<value>: that section's sh_addr set to value
            _, section, value = mode.split(":")
            obj = bytearray(blob)
            hits = 0
            for s in sections(blob):
                if s["sname"] == section:
                    struct.pack_into("<Q", obj, s["header"] + 16, int(value, 0) % (1 << 64))
                    hits += 1
            require(hits, "section " + section)
            blob = bytes(obj)
        elif mode.startswith("reloc-type:") and blob:
            # reloc-type:<rela section>:<entry>:<type>: that relocation's type set to type
            _, section, entry, typ = mode.split(":")
            obj = bytearray(blob)
            hits = 0
            for s in sections(blob):
                if s["sname"] == section:
                    struct.pack_into("<I", obj, s["offset"] + 24 * int(entry) + 8, int(typ, 0))
                    hits += 1
            require(hits, "section " + section)
            blob = bytes(obj)
        elif mode == "amplify":
            reply = json.loads(header)
            count = int(os.environ.get("LYING_PROXY_COUNT", "60000000"))
            reply["Compiled"]["symbols"]["referenced"] = []
            text = json.dumps(reply).encode()
            marker = b'"referenced": []'
            header = text.replace(marker, b'"referenced": [' + b'"",' * (count - 1) + b'""]')
        write_frame(out, header, blob)


def require(hits, what):
    """A lie the object has no place for is the test's mistake: say so and end, so the test
    fails (the JIT reports the worker's last words) instead of passing on an unchanged object."""
    if not hits:
        sys.stderr.write("lying proxy: error: the object has no %s to lie about\n" % what)
        sys.stderr.flush()
        sys.exit(3)


main()
