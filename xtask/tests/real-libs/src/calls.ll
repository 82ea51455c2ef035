; JIT code calling zlib, SQLite and the C++ helper through the process's symbols.

@hello = private constant [6 x i8] c"hello\00"
@three = private constant [15 x i8] c"one two  three\00"
@empty = private constant [1 x i8] zeroinitializer

declare i8* @zlibVersion()
declare i64 @crc32(i64, i8*, i32)
declare i32 @sqlite3_libversion_number()
declare i32 @words_count(i8*)

define i8* @zlib_version() {
entry:
  %v = call i8* @zlibVersion()
  ret i8* %v
}

define i32 @crc32_hello() {
entry:
  %p = getelementptr [6 x i8], [6 x i8]* @hello, i64 0, i64 0
  %c = call i64 @crc32(i64 0, i8* %p, i32 5)
  %r = trunc i64 %c to i32
  ret i32 %r
}

define i32 @sqlite_version() {
entry:
  %v = call i32 @sqlite3_libversion_number()
  ret i32 %v
}

define i32 @words_three() {
entry:
  %p = getelementptr [15 x i8], [15 x i8]* @three, i64 0, i64 0
  %n = call i32 @words_count(i8* %p)
  ret i32 %n
}

define i32 @words_empty() {
entry:
  %p = getelementptr [1 x i8], [1 x i8]* @empty, i64 0, i64 0
  %n = call i32 @words_count(i8* %p)
  ret i32 %n
}
