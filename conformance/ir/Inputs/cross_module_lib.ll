; The other module of cross_module_calls.ll.

@base = external global i32
@callback = external global i32 (i32)*
@lib_table = global [2 x i32] [i32 1, i32 30]

define i32 @apply(i32 %x) {
entry:
  %f = load i32 (i32)*, i32 (i32)** @callback
  %y = call i32 %f(i32 %x)
  %b = load i32, i32* @base
  %r = add i32 %y, %b
  ret i32 %r
}
