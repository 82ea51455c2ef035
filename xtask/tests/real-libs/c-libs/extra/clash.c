/* Only the test's broken manifests use this file: a second definition of words_count. */
int words_count(const char *text) {
    (void)text;
    return 1002;
}

int clash_extra(void) {
    return 1;
}
