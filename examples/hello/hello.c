/*
 * hello.c: the smallest herd module, a starting point for your own.
 *
 *     cc -shared -fPIC $(pkg-config --cflags herd) -o hello.so hello.c
 *
 * herd.yaml:
 *
 *     routes:
 *       - path: /hello
 *         module: { file: ./hello.so, handler: hello }
 */
#include <herd.h>

int hello(struct herd_request *req);

int
hello(struct herd_request *req)
{
    herd_respond_json(req, 200, "{\"message\":\"Hello, World!\"}\n");
    return HERD_DONE;
}
