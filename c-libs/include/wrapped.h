/* Helpers that generated wrappers call, precompiled to bitcode so JIT code can inline them. */
#ifndef WRAPPED_H
#define WRAPPED_H

#include <stdint.h>

typedef struct WrappedValue {
    int32_t kind;   /* WRAPPED_INT */
    int32_t as_int;
} WrappedValue;

enum { WRAPPED_INT = 1 };

/* Boxes an int (malloc); counts every call in a file-static counter. */
WrappedValue *CreateWrappedValueFromInt(int32_t value);

/* The boxed int. */
int32_t WrappedValueGetInt(const WrappedValue *value);

/* Frees a box. */
void WrappedValueFree(WrappedValue *value);

/* How many values CreateWrappedValueFromInt has made, process-wide. */
int64_t WrappedValueCreateCount(void);

/* A cheap pure helper for the call-overhead benchmark. */
int64_t WrappedScale(int64_t x);

#endif
