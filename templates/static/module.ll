; JIT code that calls the C helper. helper_add is not defined here: the JIT finds it in this
; process, where build.rs linked and exported it.

declare i32 @helper_add(i32, i32)

define i32 @compute() {
entry:
  %result = call i32 @helper_add(i32 40, i32 2)
  ret i32 %result
}
