/* promcheck.h: a strict checker of Prometheus text exposition 0.0.4. */
#ifndef HERD_PROMCHECK_H
#define HERD_PROMCHECK_H

#include <stddef.h>

/*
 * 0 when text[0..len) is valid exposition format 0.0.4, else -1 with the
 * reason (and line) in err. Checked: line syntax (HELP, TYPE, samples;
 * names, labels, escapes, values), every line ends in LF, a family's
 * TYPE comes once and before its samples, a family's samples are
 * together, no series twice, counters not negative, and for histograms
 * cumulative buckets with an le label, a +Inf bucket equal to _count,
 * and _sum and _count present.
 */
int pc_check(const char *text, size_t len, char *err, size_t errlen);

/* The value of the sample whose series is exactly series ("name" or
   "name{a=\"b\"}"), or -1 when there is none. */
double pc_value(const char *text, const char *series);

#endif
