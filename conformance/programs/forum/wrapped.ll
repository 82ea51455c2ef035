; The generated wrapper of the forum's case: f_WRAPPED boxes f_'s result with the C++ helper
; CreateWrappedValueFromInt, whose body is imported from the IPO runtime.

%struct.WrappedValue = type { i32, i32 }

declare %struct.WrappedValue* @CreateWrappedValueFromInt(i32)

define i32 @f_(i32 %n) {
entry:
  %r = add i32 %n, 23333
  ret i32 %r
}

define %struct.WrappedValue* @f_WRAPPED(i32 %n) {
entry:
  %v = call i32 @f_(i32 %n)
  %w = call %struct.WrappedValue* @CreateWrappedValueFromInt(i32 %v)
  ret %struct.WrappedValue* %w
}
