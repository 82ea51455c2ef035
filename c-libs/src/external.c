#include "external.h"

int64_t external_counter = 0;

int32_t external_function(int32_t x) {
    return 2 * x;
}

int64_t external_accumulate(int64_t x) {
    external_counter += x;
    return external_counter;
}

int64_t external_sum(const int64_t *values, uint64_t n) {
    int64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        sum += values[i];
    }
    return sum;
}

int32_t external_unlisted(int32_t x) {
    return x + 1;
}
