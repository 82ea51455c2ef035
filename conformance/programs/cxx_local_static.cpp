// TAGS: c++-statics, exit-handlers
// Function-local statics: constructed on first use (guarded), destroyed at exit in reverse
// order of construction; a function never called constructs nothing.
#include <cstdio>
#include <string>

struct Noisy {
    std::string name;
    explicit Noisy(const char *n) : name(n) { std::printf("construct %s\n", name.c_str()); }
    ~Noisy() { std::printf("destroy %s\n", name.c_str()); }
};

Noisy &alpha() {
    static Noisy instance("alpha");
    return instance;
}

Noisy &beta() {
    static Noisy instance("beta");
    return instance;
}

Noisy &never() {
    static Noisy instance("never");
    return instance;
}

int calls(int n) {
    static int counter = 0;
    return counter += n;
}

int main(int argc, char **) {
    std::printf("main starts\n");
    beta();
    alpha();
    beta();
    if (argc > 5)
        never();
    calls(2);
    std::printf("main ends: %s %s\n", alpha().name.c_str(), beta().name.c_str());
    return calls(3);
}
