; JIT code that records f_WRAPPED's value with the forum's C++ helpers (c-libs/src/registry.cpp),
; whose bodies are imported from their bitcode as wrapped.ll's are: RegistryRecord pushes the
; value onto a global std::vector and calls back into the host program (host_observe).

declare i64 @RegistryRecord(i32)

define i64 @record_value(i32 %value) {
entry:
  %count = call i64 @RegistryRecord(i32 %value)
  ret i64 %count
}
