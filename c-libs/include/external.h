/* The helper library that JIT code calls into. */
#ifndef EXTERNAL_H
#define EXTERNAL_H

#include <stdint.h>

/* Returns 2 * x. The demos' JIT code calls external_function(21) and expects 42. */
int32_t external_function(int32_t x);

/* Adds x to external_counter and returns the new total. Listed in the manifest. */
int64_t external_accumulate(int64_t x);

/* Sums n values that the caller passes by pointer. Listed in the manifest. */
int64_t external_sum(const int64_t *values, uint64_t n);

/* A global variable JIT code may read and write. Listed in the manifest. */
extern int64_t external_counter;

/* Defined and linked, but NOT listed in the manifest: the linkage must not export it,
 * which lets tests tell "linked" from "exported". */
int32_t external_unlisted(int32_t x);

#endif
