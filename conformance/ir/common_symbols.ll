; TAGS: common, multi-module
; Common symbols (C's tentative definitions under -fcommon), one of them in both modules.
; RUN: lli -extra-module %S/Inputs/common_other.ll %s

@shared = common global i32 0, align 4
@mine = common global [16 x i64] zeroinitializer, align 16

declare void @set_shared(i32)

define i32 @main() {
entry:
  call void @set_shared(i32 12)
  %p = getelementptr [16 x i64], [16 x i64]* @mine, i64 0, i64 15
  store i64 3, i64* %p
  %v = load i32, i32* @shared
  %w = load i64, i64* %p
  %w32 = trunc i64 %w to i32
  %r = add i32 %v, %w32
  ret i32 %r
}
