// TAGS: exceptions
// Exceptions thrown in one function and caught in another, rethrown, with destructors run
// during unwinding and a standard exception's message.
#include <cstdio>
#include <stdexcept>
#include <string>

struct Guard {
    const char *name;
    ~Guard() { std::printf("unwind %s\n", name); }
};

struct Custom {
    int code;
};

__attribute__((noinline)) void thrower(int kind) {
    Guard guard{"thrower"};
    if (kind == 0)
        throw std::runtime_error("runtime error from thrower");
    if (kind == 1)
        throw Custom{kind * 10 + 1};
    throw kind;
}

__attribute__((noinline)) int middle(int kind) {
    Guard guard{"middle"};
    try {
        thrower(kind);
    } catch (const Custom &c) {
        std::printf("middle caught Custom %d, rethrowing\n", c.code);
        throw;
    }
    return -1;
}

int main() {
    int score = 0;
    for (int kind = 0; kind < 3; ++kind) {
        try {
            middle(kind);
        } catch (const std::exception &e) {
            std::printf("main caught std::exception: %s\n", e.what());
            score += 1;
        } catch (const Custom &c) {
            std::printf("main caught Custom %d\n", c.code);
            score += c.code;
        } catch (...) {
            std::printf("main caught something else\n");
            score += 100;
        }
    }
    return score; // 1 + 11 + 100
}
