#ifndef CFUZZDRIVER_H
#define CFUZZDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry for programs that have their own main (SwiftPM gives every executable one):
/// parses libFuzzer's flags from argv and fuzzes `callback`. Defined by the fuzzer runtime that
/// -sanitize=fuzzer links; declared here so Swift can call it (only in -DFUZZING builds).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
