; TAGS: comdat, multi-module
; A linkonce_odr function in a comdat, defined by both modules (as every C++ translation unit
; that uses an inline function defines it): one definition is kept.
; lli-14's default (ORC) mode turns the second copy into a declaration that keeps its comdat,
; which fails verification ("Declaration may not be in a Comdat!"); its MCJIT mode is right.
; RUN: lli -jit-kind=mcjit -extra-module %S/Inputs/comdat_other.ll %s

$shared = comdat any

define linkonce_odr i32 @shared() comdat {
entry:
  ret i32 21
}

declare i32 @other()

define i32 @main() {
entry:
  %a = call i32 @shared()
  %b = call i32 @other()
  %r = add i32 %a, %b
  ret i32 %r
}
