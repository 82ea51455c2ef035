#include "wrapped.h"

#include <stdlib.h>

/* File-static: every module that inlines CreateWrappedValueFromInt must update this one
 * counter, not a copy of its own. */
static int64_t create_count = 0;

WrappedValue *CreateWrappedValueFromInt(int32_t value) {
    create_count += 1;
    WrappedValue *boxed = malloc(sizeof *boxed);
    if (boxed) {
        boxed->kind = WRAPPED_INT;
        boxed->as_int = value;
    }
    return boxed;
}

int32_t WrappedValueGetInt(const WrappedValue *value) {
    return value->as_int;
}

void WrappedValueFree(WrappedValue *value) {
    free(value);
}

int64_t WrappedValueCreateCount(void) {
    return create_count;
}

int64_t WrappedScale(int64_t x) {
    return (x * 7) ^ (x >> 3);
}
