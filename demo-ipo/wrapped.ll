; The LLVM forum's example: the generated wrapper f_WRAPPED boxes the result of the user's f_
; with the C helper CreateWrappedValueFromInt. Without IPO that is a call through the symbol
; table; with the helpers imported from bitcode it is inlined.

%struct.WrappedValue = type { i32, i32 }

declare %struct.WrappedValue* @CreateWrappedValueFromInt(i32)

define i32 @f_() {
entry:
  ret i32 23333
}

define %struct.WrappedValue* @f_WRAPPED(i8* %ctx, i8* %args) {
entry:
  %v = call i32 @f_()
  %w = call %struct.WrappedValue* @CreateWrappedValueFromInt(i32 %v)
  ret %struct.WrappedValue* %w
}
