; TAGS: vectors
; Vector arithmetic and a reduction intrinsic.
; RUN: lli %s

declare i32 @llvm.vector.reduce.add.v4i32(<4 x i32>)

define i32 @main() {
entry:
  %a = add <4 x i32> <i32 1, i32 2, i32 3, i32 4>, <i32 10, i32 20, i32 30, i32 40>
  %b = mul <4 x i32> %a, <i32 2, i32 2, i32 2, i32 2>
  %s = shufflevector <4 x i32> %b, <4 x i32> undef, <4 x i32> <i32 3, i32 2, i32 1, i32 0>
  %r = call i32 @llvm.vector.reduce.add.v4i32(<4 x i32> %s)
  %m = urem i32 %r, 256
  ret i32 %m
}
