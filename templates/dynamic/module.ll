; JIT code that calls the C helper. helper_add is not defined here: the JIT finds it in this
; shared library the binary loads at start-up (build.rs keeps it in DT_NEEDED).

declare i32 @helper_add(i32, i32)

define i32 @compute() {
entry:
  %result = call i32 @helper_add(i32 40, i32 2)
  ret i32 %result
}
