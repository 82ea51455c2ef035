; The benchmark loop: n calls of the helper WrappedScale, each depending on the last.

declare i64 @WrappedScale(i64)

define i64 @scale_loop(i64 %n) {
entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %exit, label %body

body:
  %i = phi i64 [ 0, %entry ], [ %next, %body ]
  %acc = phi i64 [ 0, %entry ], [ %sum, %body ]
  %x = add i64 %acc, %i
  %s = call i64 @WrappedScale(i64 %x)
  %sum = add i64 %acc, %s
  %next = add i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %body

exit:
  %result = phi i64 [ 0, %entry ], [ %sum, %body ]
  ret i64 %result
}
