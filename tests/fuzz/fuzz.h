/*
 * fuzz.h - the one entry point every fuzz target defines (libFuzzer's), and
 * the helpers the targets share.  A target is built twice: with clang's
 * -fsanitize=fuzzer by bench/fuzz.sh, and with tests/fuzz/replay.c (a plain
 * main) by `make check`, which replays tests/fuzz/corpus/<target>/.
 */
#ifndef HOIST_FUZZ_H
#define HOIST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of @size bytes of @data (caller frees). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/*
 * Split @s in place at the byte @sep into at most @max fields (the last keeps
 * the rest); missing fields point at "".  Returns how many were present.
 */
static inline size_t fuzz_split(char *s, char sep, char **fields, size_t max)
{
    size_t n = 0;
    static char empty[] = "";
    for (size_t i = 0; i < max; i++)
        fields[i] = empty;
    while (n < max) {
        fields[n++] = s;
        if (n == max)
            break;
        char *p = strchr(s, sep);
        if (!p)
            break;
        *p = '\0';
        s = p + 1;
    }
    return n;
}

#endif
