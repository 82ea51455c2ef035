; The other module of comdat_in_two_modules.ll.

$shared = comdat any

define linkonce_odr i32 @shared() comdat {
entry:
  ret i32 21
}

define i32 @other() {
entry:
  %r = call i32 @shared()
  ret i32 %r
}
