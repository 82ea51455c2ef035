; TAGS: names
; Private and internal globals and functions whose names start with LLVM's \01 ("do not
; mangle") mark, and unnamed globals: none of them reaches the symbol table.
; RUN: lli %s

@"\01private_text" = private constant [6 x i8] c"named\00"
@0 = private constant [8 x i8] c"unnamed\00"
@"\01internal_count" = internal global i32 7

declare i32 @puts(i8*)

define internal i32 @"\01internal_helper"(i32 %x) {
entry:
  %c = load i32, i32* @"\01internal_count"
  %r = add i32 %x, %c
  ret i32 %r
}

define i32 @main() {
entry:
  %a = call i32 @puts(i8* getelementptr ([6 x i8], [6 x i8]* @"\01private_text", i64 0, i64 0))
  %b = call i32 @puts(i8* getelementptr ([8 x i8], [8 x i8]* @0, i64 0, i64 0))
  %r = call i32 @"\01internal_helper"(i32 5)
  ret i32 %r
}
