; TAGS: target
; A module written for i686 (32-bit pointers in its data layout). lli refuses to add it to an
; x86-64 JIT ("incompatible data layouts"); a JIT must not run it under the host's layout,
; where the pointer size it computes would silently be 8 instead of 4.
; RUN: lli %s

target datalayout = "e-m:e-p:32:32-p270:32:32-p271:32:32-p272:64:64-i128:128-f64:32:64-f80:32-n8:16:32-S128"
target triple = "i686-pc-linux-gnu"

define i32 @main() {
entry:
  ret i32 ptrtoint (i8** getelementptr (i8*, i8** null, i32 1) to i32)
}
