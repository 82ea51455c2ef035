#include "helpers.h"

int32_t helper_add(int32_t a, int32_t b) {
    return a + b;
}
