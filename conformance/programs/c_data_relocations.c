// TAGS: relocations
// Initialised data pointing at functions, strings and other data: relocations in data
// sections, resolved by the JIT's linker.
#include <stdio.h>

static int add(int a, int b) { return a + b; }
static int mul(int a, int b) { return a * b; }

struct operation {
    const char *name;
    int (*apply)(int, int);
};

static const struct operation operations[] = {{"add", add}, {"mul", mul}};
static const struct operation *const chosen[] = {&operations[1], &operations[0], &operations[1]};
const char *const greeting = "relocated string";

int main(void) {
    int value = 2;
    for (unsigned i = 0; i < sizeof chosen / sizeof chosen[0]; ++i) {
        value = chosen[i]->apply(value, 3);
        printf("%s -> %d\n", chosen[i]->name, value);
    }
    printf("%s\n", greeting);
    return value; // ((2*3)+3)*3
}
