#ifndef WORDS_H
#define WORDS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The number of words in `text`, or WORDS_EMPTY for an empty text (signalled inside with a C++
   exception, caught before it could reach C or JIT code). */
int words_count(const char *text);

#ifdef __cplusplus
}
#endif

#endif
