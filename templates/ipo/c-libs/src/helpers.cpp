// C++ helpers, compiled to LLVM bitcode by build.rs and imported into JIT code, where their
// bodies are inlined. They keep global objects (a std::string and a std::vector): the JIT runs
// their constructors when it adds the helpers (orc-jit's `run_constructors(true)` in main.rs)
// and their destructors when it is dropped. They also call back into the Rust program
// (`host_observe`, which main.rs provides).
#include "helpers.h"

#include <cstdio>
#include <string>
#include <vector>

namespace {

struct History {
    // Longer than std::string's small-string buffer: the constructor allocates it.
    std::string name = "the C++ helpers' history";
    std::vector<int32_t> results;

    ~History() {
        std::printf("helpers: history destroyed with %zu result%s\n", results.size(),
                    results.size() == 1 ? "" : "s");
        std::fflush(stdout);
    }
};

History history;

} // namespace

extern "C" int32_t helper_add(int32_t a, int32_t b) { return a + b; }

extern "C" int32_t helper_record(int32_t value) {
    history.results.push_back(value);
    return host_observe(value);
}

extern "C" const char *helper_history_name(void) { return history.name.c_str(); }

extern "C" int64_t helper_history_size(void) {
    return static_cast<int64_t>(history.results.size());
}
