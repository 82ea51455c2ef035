; The other module of common_symbols.ll.

@shared = common global i32 0, align 4

define void @set_shared(i32 %v) {
entry:
  store i32 %v, i32* @shared
  ret void
}
