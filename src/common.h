/* common.h: return codes, error buffers, helpers shared by every file. */
#ifndef HERD_COMMON_H
#define HERD_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define HERD_OK    0
#define HERD_ERR   (-1)
#define HERD_AGAIN (-2)

/* Size of the err buffers that reusable modules fill instead of logging. */
#define HERD_ERR_LEN 512

#define HERD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define HERD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define HERD_LIKELY(x)         __builtin_expect(!!(x), 1)
#define HERD_UNLIKELY(x)       __builtin_expect(!!(x), 0)
#else
#define HERD_PRINTF(fmt, args)
#define HERD_LIKELY(x)   (x)
#define HERD_UNLIKELY(x) (x)
#endif

#endif
