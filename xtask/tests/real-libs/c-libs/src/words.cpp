#include <sstream>
#include <stdexcept>
#include <string>

#include "words.h"

static int count_or_throw(const std::string &text) {
    if (text.empty()) {
        throw std::invalid_argument("empty text");
    }
    std::istringstream in(text);
    std::string word;
    int count = 0;
    while (in >> word) {
        ++count;
    }
    return count;
}

extern "C" int words_count(const char *text) {
    try {
        return count_or_throw(text ? std::string(text) : std::string());
    } catch (const std::exception &) {
        return WORDS_EMPTY;
    }
}
