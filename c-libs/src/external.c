#include "external.h"

int64_t external_counter = 0;

int32_t external_function(int32_t x) {
    return 2 * x;
}

int64_t external_accumulate(int64_t x) {
    external_counter += x;
    return external_counter;
}

int32_t external_unlisted(int32_t x) {
    return x + 1;
}
