// TAGS: c++-statics, exit-handlers
// std::cout and a std::map: iostream's own static initialisation, as in any C++ program.
#include <iostream>
#include <map>
#include <string>

int main() {
    std::map<std::string, int> counts;
    for (const char *word : {"b", "a", "c", "a", "b", "a"})
        counts[word]++;
    for (const auto &[word, count] : counts)
        std::cout << word << " x" << count << '\n';
    std::cout << "distinct: " << counts.size() << std::endl;
    return static_cast<int>(counts.size());
}
