#!/usr/bin/env python3
"""Writes crash-corpus/: copies of clang-14's bitcode of c-libs/src/wrapped.c with 1 to 4 random
bytes changed, kept when LLVM 14's bitcode reader (llvm-dis-14) dies on them by a signal. Each
one would take a process that parses it in-process down; the isolation tests feed them to
compile workers. Run from the workspace root: python3 orc-jit/tests/data/make_crash_corpus.py"""
import os
import random
import subprocess
import tempfile

random.seed(1234)
out = "orc-jit/tests/data/crash-corpus"
os.makedirs(out, exist_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    base_path = os.path.join(tmp, "wrapped.bc")
    subprocess.run(["clang-14", "-O2", "-fPIC", "-emit-llvm", "-c", "-I", "c-libs/include",
                    "c-libs/src/wrapped.c", "-o", base_path], check=True)
    base = open(base_path, "rb").read()
    kept, tries = 0, 0
    while kept < 24 and tries < 3000:
        tries += 1
        data = bytearray(base)
        for _ in range(random.randint(1, 4)):
            data[random.randrange(8, len(data))] = random.randrange(256)
        candidate = os.path.join(tmp, "candidate.bc")
        open(candidate, "wb").write(data)
        try:
            run = subprocess.run(["llvm-dis-14", candidate, "-o", "/dev/null"],
                                 capture_output=True, timeout=10)
        except subprocess.TimeoutExpired:
            continue
        if run.returncode < 0:
            os.rename(candidate, os.path.join(out, f"mutant-{kept:02d}-sig{-run.returncode}.bc"))
            kept += 1
    print(f"{kept} crashing mutants in {tries} tries")
