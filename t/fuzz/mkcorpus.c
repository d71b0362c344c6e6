/* mkcorpus.c: writes the fuzzer's seed corpus (t/corpus) from the cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"

/*
 * Usage: mkcorpus DIR. Each hardening case becomes DIR/NAME, with the
 * 9-byte prefix fuzz_http1.c reads (cut flags and seed) in front, plus a
 * few pipelined streams. Run by hand when the cases change; the corpus is
 * committed.
 */

static const char *const streams[][2] = {
    {"pipelined_mix",
     HH_GET "\r\n" HH_POST "Content-Length: 3\r\n\r\nabc" HH_CHUNKED
            "3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n"
            "GET /a/7 HTTP/1.1\r\nHost: x\r\n\r\n"
            "DELETE /a/7 HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET /s/x/y?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"
            "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET / HTTP/1.0\r\n\r\n"},
    {"expect_then_next",
     HH_POST "Expect: 100-continue\r\nContent-Length: 2"
             "\r\n\r\nhi" HH_GET "Connection: close\r\n\r\n"},
    {"keepalive_http10", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                         "GET /a/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
    {"upgrade", HH_GET "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                       "\x81\x05hello"},
    {"partial_head", HH_POST "Content-Length: 10\r\n\r\nabc"},
};

static int
write_seed(const char *dir, const char *name, const char *p, size_t len,
           unsigned n)
{
    char path[512];
    unsigned char prefix[9] = {0x07, 0, 0, 0, 0, 0, 0, 0, 0};
    FILE *f;

    prefix[1] = (unsigned char)(n * 37 + 1);
    prefix[2] = (unsigned char)(n * 11 + 5);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(prefix, 1, sizeof(prefix), f) != sizeof(prefix) ||
        fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static char buf[64 * 1024];
    const char *p;
    size_t i, len;
    unsigned n = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: mkcorpus DIR\n");
        return 2;
    }
    for (i = 0; i < hh_ncases; i++) {
        p = hh_case_bytes(&hh_cases[i], buf, sizeof(buf), &len);
        if (write_seed(argv[1], hh_cases[i].name, p, len, n++) != 0)
            return 1;
    }
    for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++)
        if (write_seed(argv[1], streams[i][0], streams[i][1],
                       strlen(streams[i][1]), n++) != 0)
            return 1;
    return 0;
}
