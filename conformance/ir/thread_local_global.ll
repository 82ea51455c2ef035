; TAGS: tls
; A thread-local global with an initial value, read and written in main.
; RUN: lli %s

@counter = thread_local global i32 40, align 4

define i32 @main() {
entry:
  %v = load i32, i32* @counter, align 4
  %w = add i32 %v, 2
  store i32 %w, i32* @counter, align 4
  %r = load i32, i32* @counter, align 4
  ret i32 %r
}
