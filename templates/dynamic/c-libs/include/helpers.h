#ifndef HELPERS_H
#define HELPERS_H

#include <stdint.h>

/* Called from JIT code: returns a + b. */
int32_t helper_add(int32_t a, int32_t b);

#endif
