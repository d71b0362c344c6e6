/* parse.h: the one place where config durations and sizes are parsed. */
#ifndef HERD_PARSE_H
#define HERD_PARSE_H

#include <stdint.h>

#include "common.h"

/*
 * Parse a duration: a non-negative integer followed by a unit, one of
 * "ms", "s", "m", "h", "d" ("250ms", "10s", "5m"). A bare integer is
 * seconds. No sign, no fraction, no space, no overflow of uint64 ms.
 * Returns HERD_OK and stores milliseconds in *ms, or HERD_ERR with the
 * reason in err (without the key or position: the caller adds those).
 */
int herd_parse_duration(const char *text, uint64_t *ms, char *err,
                        size_t errlen);

/*
 * Parse a size: a non-negative integer with an optional suffix "k", "m",
 * "g" (powers of 1024, case-insensitive, an optional trailing "b" as in
 * "8kb"). Returns HERD_OK and stores bytes in *bytes, or HERD_ERR with the
 * reason in err.
 */
int herd_parse_size(const char *text, uint64_t *bytes, char *err,
                    size_t errlen);

#endif
