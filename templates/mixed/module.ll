; JIT code calling both libraries: math_twice (linked statically into the binary) and
; text_length (from libtextlib.so, which the binary loads at start-up).

@greeting = private constant [3 x i8] c"hi\00"

declare i32 @math_twice(i32)
declare i32 @text_length(i8*)

define i32 @compute() {
entry:
  %twice = call i32 @math_twice(i32 20)
  %text = getelementptr [3 x i8], [3 x i8]* @greeting, i64 0, i64 0
  %length = call i32 @text_length(i8* %text)
  %result = add i32 %twice, %length
  ret i32 %result
}
