; The demos' default module: f() calls the C library's external_function(21), which returns 42.
; external_function is not defined here: the JIT finds it in the host process, where the demo
; binary's link settings put it.

declare i32 @external_function(i32)

define i32 @f() {
entry:
  %result = call i32 @external_function(i32 21)
  ret i32 %result
}
