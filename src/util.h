/* util.h: tiny helpers shared by the reusable modules. */
#ifndef HERD_UTIL_H
#define HERD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "common.h"

/* Format a reason into err[0..errlen) for the caller; writes nothing when
   err is NULL or errlen is 0 (callers that only want the verdict).
   Returns HERD_ERR, so a failing function can end with return herd_errf(). */
int herd_errf(char *err, size_t errlen, const char *fmt, ...) HERD_PRINTF(3, 4);

/* CLOCK_MONOTONIC now, in milliseconds and in microseconds. */
uint64_t herd_mono_ms(void);
uint64_t herd_mono_us(void);

/* ms milliseconds as a struct timeval (for libevent timeouts). */
struct timeval herd_ms_tv(uint64_t ms);

/* The value of the hex digit c (either case), or -1. */
int herd_hexval(char c);

#endif
