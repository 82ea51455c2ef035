; TAGS: ctors
; llvm.global_ctors and llvm.global_dtors run in priority order (lowest first for
; constructors, and destructors after main), whatever their order in the array.
; RUN: lli %s

@fmt = private constant [4 x i8] c"%s\0A\00"
@late = private constant [17 x i8] c"constructor 2000\00"
@early = private constant [16 x i8] c"constructor 100\00"
@dtor = private constant [11 x i8] c"destructor\00"
@inmain = private constant [5 x i8] c"main\00"
@state = global i32 1

@llvm.global_ctors = appending global [2 x { i32, void ()*, i8* }] [
  { i32, void ()*, i8* } { i32 2000, void ()* @ctor_late, i8* null },
  { i32, void ()*, i8* } { i32 100, void ()* @ctor_early, i8* null }]
@llvm.global_dtors = appending global [1 x { i32, void ()*, i8* }] [
  { i32, void ()*, i8* } { i32 100, void ()* @dtor_fn, i8* null }]

declare i32 @printf(i8*, ...)

define internal void @say(i8* %what) {
entry:
  %r = call i32 (i8*, ...) @printf(i8* getelementptr ([4 x i8], [4 x i8]* @fmt, i64 0, i64 0), i8* %what)
  ret void
}

define internal void @ctor_early() {
entry:
  call void @say(i8* getelementptr ([16 x i8], [16 x i8]* @early, i64 0, i64 0))
  store i32 10, i32* @state
  ret void
}

define internal void @ctor_late() {
entry:
  call void @say(i8* getelementptr ([17 x i8], [17 x i8]* @late, i64 0, i64 0))
  %v = load i32, i32* @state
  %w = add i32 %v, 5
  store i32 %w, i32* @state
  ret void
}

define internal void @dtor_fn() {
entry:
  call void @say(i8* getelementptr ([11 x i8], [11 x i8]* @dtor, i64 0, i64 0))
  ret void
}

define i32 @main() {
entry:
  call void @say(i8* getelementptr ([5 x i8], [5 x i8]* @inmain, i64 0, i64 0))
  %v = load i32, i32* @state
  ret i32 %v
}
