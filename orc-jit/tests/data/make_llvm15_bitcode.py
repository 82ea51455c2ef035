#!/usr/bin/env python3
"""Writes llvm15-answer.bc: genuine LLVM 15 bitcode (opaque pointers, LLVM 15's writer), made by
calling LLVM 15's C API through ctypes. The orc-jit tests check that LLVM 14 refuses it with a
clear error. Needs Debian's libllvm15; the output is checked in so the tests do not."""
import ctypes
import sys

IR = b"""define ptr @answer(ptr %p) {
entry:
  %v = load i32, ptr %p
  store i32 42, ptr %p
  ret ptr %p
}
"""

llvm = ctypes.CDLL("libLLVM-15.so.1")
llvm.LLVMContextCreate.restype = ctypes.c_void_p
llvm.LLVMCreateMemoryBufferWithMemoryRangeCopy.restype = ctypes.c_void_p
llvm.LLVMCreateMemoryBufferWithMemoryRangeCopy.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
llvm.LLVMParseIRInContext.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_char_p)]
llvm.LLVMWriteBitcodeToFile.argtypes = [ctypes.c_void_p, ctypes.c_char_p]

context = llvm.LLVMContextCreate()
buffer = llvm.LLVMCreateMemoryBufferWithMemoryRangeCopy(IR, len(IR), b"answer.ll")
module = ctypes.c_void_p()
message = ctypes.c_char_p()
if llvm.LLVMParseIRInContext(context, buffer, ctypes.byref(module), ctypes.byref(message)):
    sys.exit(message.value.decode())
out = sys.argv[1] if len(sys.argv) > 1 else "llvm15-answer.bc"
if llvm.LLVMWriteBitcodeToFile(module, out.encode()):
    sys.exit("writing bitcode failed")
print(out)
