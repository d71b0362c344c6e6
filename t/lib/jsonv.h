/* jsonv.h: a strict JSON validator for tests (RFC 8259, no extensions). */
#ifndef HERD_JSONV_H
#define HERD_JSONV_H

#include <stddef.h>

/* 0 when s[0..len) is exactly one JSON object (whitespace around it
   allowed), else -1. Strings must be valid UTF-8 with legal escapes. */
int jv_object(const char *s, size_t len);

/* 0 when s[0..len) is exactly one JSON value of any kind, else -1. */
int jv_value(const char *s, size_t len);

#endif
