// TAGS: exit-handlers
// LLI: -jit-kind=mcjit
// (lli-22 in its default ORC mode runs one handler and exits 1; lli-14 does not find `atexit`,
// which glibc has only in libc_nonshared.a. MCJIT leaves atexit to the C library and is right.)
// atexit handlers run after main returns, in reverse order of registration; one registered
// by another handler runs too.
#include <stdio.h>
#include <stdlib.h>

static void first(void) { printf("handler 1 (registered first, runs last)\n"); }
static void second(void) { printf("handler 2\n"); }
static void late(void) { printf("handler registered during exit\n"); }
static void third(void) {
    printf("handler 3 (registered last, runs first)\n");
    atexit(late);
}

int main(void) {
    if (atexit(first) || atexit(second) || atexit(third))
        return 1;
    printf("main returns 5\n");
    return 5;
}
