; TAGS: weak, multi-module
; A weak function and a weak variable defined by both modules: both modules use one
; definition of each (the first added, as in lli).
; RUN: lli -extra-module %S/Inputs/weak_other.ll %s

@level = weak global i32 3

define weak i32 @pick() {
entry:
  ret i32 10
}

declare i32 @other_pick()

define i32 @main() {
entry:
  %a = call i32 @pick()
  %b = call i32 @other_pick()
  %l = load i32, i32* @level
  %s = add i32 %a, %b
  %r = add i32 %s, %l
  ret i32 %r
}
