; JIT code that calls the C++ helpers. Their bodies are imported from the helpers' bitcode
; before the module enters the JIT: helper_add is inlined; helper_record keeps the result in
; the helpers' global history (a std::vector) and tells the program.

declare i32 @helper_add(i32, i32)
declare i32 @helper_record(i32)

define i32 @compute() {
entry:
  %sum = call i32 @helper_add(i32 40, i32 2)
  %result = call i32 @helper_record(i32 %sum)
  ret i32 %result
}
