#ifndef TEXTLIB_H
#define TEXTLIB_H

#include <stdint.h>

/* Linked dynamically (libtextlib.so). Returns the length of a NUL-terminated string. */
int32_t text_length(const char *text);

#endif
