// TAGS: weak
// A weak function and a weak variable, defined here and used as the definitions.
// (A weak declaration nothing defines is left out: lli-14 refuses it, "Symbols not found".)
#include <stdio.h>

__attribute__((weak)) int hook(int x) { return x + 1; }
__attribute__((weak)) int setting = 17;

int main(void) {
    printf("hook(1) = %d, setting = %d\n", hook(1), setting);
    return hook(setting); // 18
}
