#ifndef MATHLIB_H
#define MATHLIB_H

#include <stdint.h>

/* Linked statically. Returns 2 * x. */
int32_t math_twice(int32_t x);

#endif
