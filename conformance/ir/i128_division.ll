; TAGS: libgcc
; 128-bit division and remainder, which x86-64 code generation lowers to calls of libgcc's
; __udivti3 and __umodti3.
; RUN: lli %s

define i32 @main() {
entry:
  %a = mul i128 18446744073709551629, 1000003
  %q = udiv i128 %a, 1000003
  %m = urem i128 %a, 18446744073709551629
  %lo = trunc i128 %q to i32
  %mm = trunc i128 %m to i32
  %r = add i32 %lo, %mm
  ret i32 %r
}
