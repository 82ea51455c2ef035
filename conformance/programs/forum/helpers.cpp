// The LLVM forum's case, in C++: helpers for generated wrappers, with a global std::string and
// std::vector, that call back into the host program. The test (tests/forum_ipo.rs) compiles this
// with clang++-N to bitcode and gives it to orc-jit as the IPO runtime.
#include <cstdio>
#include <string>
#include <vector>

extern "C" int host_observe(int value); // defined by the host program (forum-ipo)

struct WrappedValue {
    int kind;
    int as_int;
};

namespace {
struct Registry {
    std::string name = "forum helpers, with a name longer than the small-string buffer";
    std::vector<int> history;
    ~Registry() { std::printf("helpers: registry destroyed after %zu values\n", history.size()); }
};
Registry registry;
} // namespace

extern "C" WrappedValue *CreateWrappedValueFromInt(int value) {
    registry.history.push_back(value);
    return new WrappedValue{1, host_observe(value)};
}

extern "C" void WrappedValueFree(WrappedValue *value) { delete value; }

extern "C" long HelperHistorySize() { return static_cast<long>(registry.history.size()); }

extern "C" long HelperNameLength() { return static_cast<long>(registry.name.size()); }
