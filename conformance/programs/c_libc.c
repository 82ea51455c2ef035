// TAGS: libc
// printf, malloc and qsort with a callback into JIT code.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int calls;

static int by_value_descending(const void *a, const void *b) {
    calls++;
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

int main(void) {
    int n = 16;
    int *values = malloc(n * sizeof *values);
    if (!values)
        return 1;
    for (int i = 0; i < n; ++i)
        values[i] = (i * 7919) % 23;
    qsort(values, n, sizeof *values, by_value_descending);
    char *text = malloc(256);
    text[0] = '\0';
    for (int i = 0; i < n; ++i) {
        char item[16];
        snprintf(item, sizeof item, "%s%d", i ? " " : "", values[i]);
        strcat(text, item);
    }
    printf("sorted: %s\n", text);
    printf("comparator called: %s\n", calls > 0 ? "yes" : "no");
    int result = values[0] - values[n - 1];
    free(text);
    free(values);
    return result;
}
