; `cargo xtask bench calls`: i64 call_loop(i64 n) sums external_function(i) for i < n. The call
; is to a symbol this module does not define, so it is never inlined: each iteration is one
; call through whatever symbol source the JIT was given.

declare i32 @external_function(i32)

define i64 @call_loop(i64 %n) {
entry:
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %done, label %loop

loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %acc = phi i64 [ 0, %entry ], [ %sum, %loop ]
  %arg = trunc i64 %i to i32
  %r = call i32 @external_function(i32 %arg)
  %wide = sext i32 %r to i64
  %sum = add i64 %acc, %wide
  %next = add i64 %i, 1
  %more = icmp slt i64 %next, %n
  br i1 %more, label %loop, label %done

done:
  %result = phi i64 [ 0, %entry ], [ %sum, %loop ]
  ret i64 %result
}
