#include "textlib.h"

int32_t text_length(const char *text) {
    int32_t n = 0;
    while (text[n] != '\0') {
        n++;
    }
    return n;
}
