// TAGS: exit-status
// main's return value beyond 255: the exit status is its low 8 bits, as for any process.
#include <stdio.h>

int main(void) {
    printf("returning 300\n");
    return 300;
}
