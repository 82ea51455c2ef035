// TAGS: tls, c++-statics, threads
// C++ thread_local: a plain one, and one with a constructor and a destructor (registered with
// __cxa_thread_atexit), in threads run one after another so the output has one order.
#include <cstdio>
#include <string>
#include <thread>

thread_local int plain = 5;

struct PerThread {
    std::string name;
    PerThread() : name("unnamed") { std::printf("construct per-thread object\n"); }
    ~PerThread() { std::printf("destroy per-thread object %s\n", name.c_str()); }
};

thread_local PerThread object;

int main() {
    int sum = 0;
    for (int i = 1; i <= 3; ++i) {
        std::thread worker([i, &sum] {
            plain += i;
            object.name = "thread " + std::to_string(i);
            sum += plain;
        });
        worker.join();
    }
    std::printf("plain in main: %d, sum %d\n", plain, sum);
    return sum; // 6 + 7 + 8
}
