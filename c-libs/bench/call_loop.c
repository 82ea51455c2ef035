/* `cargo xtask bench calls`, the ahead-of-time side: the same loop as demo-runner/call_loop.ll,
 * calling external_function from another translation unit (never inlined). Linked with the
 * shared library, each call goes through the PLT; linked with the static archive into the
 * executable, it is a direct call. Prints the result and nanoseconds per call. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "external.h"

__attribute__((noinline)) static int64_t call_loop(int64_t n) {
    int64_t acc = 0;
    for (int64_t i = 0; i < n; i++) {
        acc += external_function((int32_t)i);
    }
    return acc;
}

int main(int argc, char **argv) {
    int64_t n = argc > 1 ? strtoll(argv[1], NULL, 10) : 100000000;
    call_loop(1000);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int64_t result = call_loop(n);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    printf("%" PRId64 " %.4f\n", result, ns / (double)n);
    return 0;
}
