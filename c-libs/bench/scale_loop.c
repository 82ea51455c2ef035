/* The benchmark loop compiled ahead of time: the helper and the loop in one translation unit,
 * as clang-14 -O3 sees them. Prints the result and nanoseconds per call. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../src/wrapped.c"

__attribute__((noinline)) static int64_t scale_loop(int64_t n) {
    int64_t acc = 0;
    for (int64_t i = 0; i < n; i++) {
        acc += WrappedScale(i);
    }
    return acc;
}

int main(int argc, char **argv) {
    int64_t n = argc > 1 ? strtoll(argv[1], NULL, 10) : 100000000;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int64_t result = scale_loop(n);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    printf("%" PRId64 " %.4f\n", result, ns / (double)n);
    return 0;
}
