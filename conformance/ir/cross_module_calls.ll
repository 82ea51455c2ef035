; TAGS: multi-module
; Two modules calling each other and reading each other's data, through function pointers
; too.
; RUN: lli -extra-module %S/Inputs/cross_module_lib.ll %s

@base = global i32 5
@callback = global i32 (i32)* @twice

declare i32 @apply(i32)
@lib_table = external global [2 x i32]

define i32 @twice(i32 %x) {
entry:
  %r = mul i32 %x, 2
  ret i32 %r
}

define i32 @main() {
entry:
  %a = call i32 @apply(i32 4)
  %p = getelementptr [2 x i32], [2 x i32]* @lib_table, i64 0, i64 1
  %t = load i32, i32* %p
  %r = add i32 %a, %t
  ret i32 %r
}
