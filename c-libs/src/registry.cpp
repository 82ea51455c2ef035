// The LLVM forum's case (issue 20): C++ helpers with global objects, a std::string and a
// std::vector, that call back into the host program. As JIT code they need the JIT to run their
// constructors when it adds them (orc-jit's run_constructors(true)) and to own the destructors
// clang registers with __cxa_atexit: the JIT runs them when it is dropped, before its memory
// goes (libc calling them at exit, into freed JIT memory, was a SIGSEGV).
#include "registry.h"

#include <cstdio>
#include <string>
#include <vector>

namespace {

struct Registry {
    // Longer than std::string's small-string buffer: the constructor allocates it.
    std::string name = "the forum's C++ helpers";
    std::vector<int32_t> values;

    ~Registry() {
        std::printf("registry: destroyed with %zu value%s\n", values.size(),
                    values.size() == 1 ? "" : "s");
        std::fflush(stdout);
    }
};

Registry registry;

} // namespace

extern "C" int64_t RegistryRecord(int32_t value) {
    registry.values.push_back(host_observe(value));
    return static_cast<int64_t>(registry.values.size());
}

extern "C" const char *RegistryName(void) { return registry.name.c_str(); }

extern "C" int64_t RegistrySize(void) { return static_cast<int64_t>(registry.values.size()); }
