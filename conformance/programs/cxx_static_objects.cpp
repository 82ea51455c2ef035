// TAGS: c++-statics, exit-handlers
// Global objects with std::string and std::vector members: constructed before main in
// definition order, destroyed after it in reverse order (through __cxa_atexit).
#include <cstdio>
#include <string>
#include <vector>

struct Registry {
    std::string name;
    std::vector<int> values;
    Registry(const char *n, int count) : name(n) {
        for (int i = 1; i <= count; ++i)
            values.push_back(i * i);
        std::printf("construct %s (%zu values)\n", name.c_str(), values.size());
    }
    ~Registry() { std::printf("destroy %s (sum %d)\n", name.c_str(), sum()); }
    int sum() const {
        int total = 0;
        for (int v : values)
            total += v;
        return total;
    }
};

Registry first("first", 3);
Registry second("second with a name too long for the small-string buffer", 5);

int main() {
    std::printf("main: %s + %s\n", first.name.c_str(), second.name.substr(0, 6).c_str());
    second.values.push_back(100);
    // 14 + 155 = 169: the exit status says the globals were built before main.
    return first.sum() + second.sum() - 100;
}
