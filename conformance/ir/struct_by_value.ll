; TAGS: abi
; Structures passed by value (byval) and returned through sret between JIT functions.
; RUN: lli %s

%pair = type { i64, i64 }

define internal void @make(%pair* sret(%pair) %out, i64 %a, i64 %b) {
entry:
  %pa = getelementptr %pair, %pair* %out, i32 0, i32 0
  %pb = getelementptr %pair, %pair* %out, i32 0, i32 1
  store i64 %a, i64* %pa
  store i64 %b, i64* %pb
  ret void
}

define internal i64 @sum(%pair* byval(%pair) align 8 %p) {
entry:
  %pa = getelementptr %pair, %pair* %p, i32 0, i32 0
  %pb = getelementptr %pair, %pair* %p, i32 0, i32 1
  %a = load i64, i64* %pa
  %b = load i64, i64* %pb
  store i64 0, i64* %pa
  %r = add i64 %a, %b
  ret i64 %r
}

define i32 @main() {
entry:
  %tmp = alloca %pair
  call void @make(%pair* sret(%pair) %tmp, i64 30, i64 7)
  %s = call i64 @sum(%pair* byval(%pair) align 8 %tmp)
  %pa = getelementptr %pair, %pair* %tmp, i32 0, i32 0
  %still = load i64, i64* %pa
  %t = add i64 %s, %still
  %r = trunc i64 %t to i32
  ret i32 %r
}
