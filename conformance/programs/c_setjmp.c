// TAGS: setjmp
// setjmp and longjmp across JIT functions.
#include <setjmp.h>
#include <stdio.h>

static jmp_buf target;

__attribute__((noinline)) static void deep(int depth) {
    if (depth == 0)
        longjmp(target, 9);
    deep(depth - 1);
}

int main(void) {
    volatile int rounds = 0;
    int value = setjmp(target);
    printf("setjmp returned %d\n", value);
    if (rounds++ < 2)
        deep(5);
    return value + rounds; // 9 + 3
}
