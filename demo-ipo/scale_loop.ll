; The benchmark loop: the sum of WrappedScale(i) for i < n. The calls are independent of each
; other, so what a call costs shows: inlined, the loop is plain arithmetic (and vectorises);
; called, each iteration pays the call.

declare i64 @WrappedScale(i64)

define i64 @scale_loop(i64 %n) {
entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %exit, label %body

body:
  %i = phi i64 [ 0, %entry ], [ %next, %body ]
  %acc = phi i64 [ 0, %entry ], [ %sum, %body ]
  %s = call i64 @WrappedScale(i64 %i)
  %sum = add i64 %acc, %s
  %next = add i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %body

exit:
  %result = phi i64 [ 0, %entry ], [ %sum, %body ]
  ret i64 %result
}
