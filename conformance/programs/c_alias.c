// TAGS: aliases
// Global aliases (__attribute__((alias))) of a function and of a variable.
#include <stdio.h>

int implementation(int x) { return x * 3; }
int triple(int x) __attribute__((alias("implementation")));

int storage[4] = {1, 2, 3, 4};
extern int numbers[4] __attribute__((alias("storage")));

int main(void) {
    numbers[0] = 10;
    printf("triple(4) = %d, storage[0] = %d, same function: %d\n", triple(4), storage[0],
           (void *)triple == (void *)implementation);
    return triple(storage[0]) + numbers[3]; // 30 + 4
}
