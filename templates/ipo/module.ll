; JIT code that calls the C helper. helper_add's body is imported from the helpers' bitcode
; and inlined before the module enters the JIT.

declare i32 @helper_add(i32, i32)

define i32 @compute() {
entry:
  %result = call i32 @helper_add(i32 40, i32 2)
  ret i32 %result
}
