; The other module of alias_function_and_global.ll: it sees the aliases as plain symbols.

@value_alias = external global i32
declare i32 @increment(i32)

define i32 @use_aliases() {
entry:
  %v = load i32, i32* @value_alias
  %r = call i32 @increment(i32 %v)
  ret i32 %r
}
