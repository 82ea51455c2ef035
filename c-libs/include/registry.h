/* The LLVM forum's case: C++ helpers for generated wrappers, with global objects, that call back
 * into the host program. Compiled to bitcode and imported into JIT code (IPO), like wrapped.h's;
 * the host must provide host_observe and let the JIT run constructors. */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defined by the host program: told each value recorded; returns it. */
int32_t host_observe(int32_t value);

/* Records a value in the global registry (a std::vector), tells the host (host_observe), and
 * returns how many values the registry holds. */
int64_t RegistryRecord(int32_t value);

/* The registry's name: a global std::string its constructor set (empty, or a crash, if the
 * global objects were never constructed). */
const char *RegistryName(void);

/* How many values the registry holds. */
int64_t RegistrySize(void);

#ifdef __cplusplus
}
#endif

#endif
