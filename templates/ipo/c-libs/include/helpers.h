#ifndef HELPERS_H
#define HELPERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defined by the Rust program (main.rs): told each result; returns it. */
int32_t host_observe(int32_t value);

/* Called from JIT code: returns a + b. */
int32_t helper_add(int32_t a, int32_t b);

/* Called from JIT code: records value in the helpers' history (a global std::vector), tells
 * the program (host_observe), and returns it. */
int32_t helper_record(int32_t value);

/* The history's name, a global std::string its constructor set. */
const char *helper_history_name(void);

/* How many results the history holds (a global std::vector). */
int64_t helper_history_size(void);

#ifdef __cplusplus
}
#endif

#endif
