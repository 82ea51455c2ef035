; TAGS: aliases
; Aliases of a function and of a global, used from this module and from another one.
; RUN: lli -extra-module %S/Inputs/alias_user.ll %s

@storage = global i32 40
@value_alias = alias i32, i32* @storage

define i32 @base(i32 %x) {
entry:
  %r = add i32 %x, 1
  ret i32 %r
}

@increment = alias i32 (i32), i32 (i32)* @base

declare i32 @use_aliases()

define i32 @main() {
entry:
  %a = call i32 @increment(i32 0)
  %b = call i32 @use_aliases()
  %r = add i32 %a, %b
  ret i32 %r
}
