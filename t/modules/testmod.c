/* testmod.c: placeholder, replaced by the module test suite's module. */
#include <herd.h>

int testmod_ok(struct herd_request *req);

int
testmod_ok(struct herd_request *req)
{
    herd_respond(req, 200, "ok\n", 3);
    return HERD_DONE;
}
