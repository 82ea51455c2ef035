// TAGS: argv
// main(argc, argv): the arguments after the module, argv[0], and the environment (getenv;
// the runner sets JIT_CONFORMANCE=1). A three-argument main is left out here: lli's default
// (ORC) mode passes no envp and crashes on it.
// ARGS: first "second arg" 3
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; ++i)
        printf("argv[%d] = %s\n", i, argv[i]);
    const char *base = strrchr(argv[0], '/');
    printf("argv[0] ends in %s\n", base ? base + 1 : argv[0]);
    const char *marker = getenv("JIT_CONFORMANCE");
    printf("JIT_CONFORMANCE = %s\n", marker ? marker : "(unset)");
    return argc * 10 + (argv[argc] == NULL);
}
