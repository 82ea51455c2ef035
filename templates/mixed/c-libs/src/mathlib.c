#include "mathlib.h"

int32_t math_twice(int32_t x) {
    return 2 * x;
}
