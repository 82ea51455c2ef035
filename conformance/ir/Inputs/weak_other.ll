; The other module of weak_in_two_modules.ll.

@level = weak global i32 50

define weak i32 @pick() {
entry:
  ret i32 100
}

define i32 @other_pick() {
entry:
  %a = call i32 @pick()
  %l = load i32, i32* @level
  %r = add i32 %a, %l
  ret i32 %r
}
