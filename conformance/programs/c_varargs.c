// TAGS: varargs
// A variadic function of our own (va_list), one forwarding to vprintf, and printf of doubles.
#include <stdarg.h>
#include <stdio.h>

static long sum(int count, ...) {
    va_list args;
    va_start(args, count);
    long total = 0;
    for (int i = 0; i < count; ++i)
        total += va_arg(args, int);
    va_end(args);
    return total;
}

static void say(const char *format, ...) {
    va_list args;
    va_start(args, format);
    printf("say: ");
    vprintf(format, args);
    va_end(args);
}

int main(void) {
    long total = sum(5, 1, 2, 3, 4, 5) + sum(0) + sum(2, -1, 1);
    say("%s %d %.3f %c\n", "mixed", 42, 2.5, 'x');
    printf("doubles: %g %e\n", 1.0 / 3.0, 6.02e23);
    return (int)total; // 15
}
