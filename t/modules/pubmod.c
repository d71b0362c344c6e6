/* pubmod.c: a test module that publishes request bodies with herd_publish. */
#include <errno.h>
#include <herd.h>
#include <stdio.h>
#include <string.h>

int pub(struct herd_request *req);

/* The name of e, as the JSON error carries it. */
static const char *
errno_name(int e)
{
    switch (e) {
    case EINVAL:
        return "EINVAL";
    case EMSGSIZE:
        return "EMSGSIZE";
    case ENOBUFS:
        return "ENOBUFS";
    case ENOTCONN:
        return "ENOTCONN";
    default:
        return "other";
    }
}

/*
 * POST /pub?ch=NAME: publish the body to channel NAME. 204 once it is on
 * its way; 400 (EINVAL, EMSGSIZE) or 503 (ENOBUFS, ENOTCONN, other) with
 * {"error":"ERRNO"} when herd_publish refuses it.
 */
int
pub(struct herd_request *req)
{
    const char *ch = herd_request_query(req, "ch", NULL);
    const void *body;
    size_t len;
    char json[64];
    int e;

    body = herd_request_body(req, &len);
    if (herd_publish(ch != NULL ? ch : "", body, len) == 0) {
        herd_respond(req, 204, NULL, 0);
        return HERD_DONE;
    }
    e = errno;
    snprintf(json, sizeof(json), "{\"error\":\"%s\"}\n", errno_name(e));
    herd_respond_json(req, e == EINVAL || e == EMSGSIZE ? 400 : 503, json);
    return HERD_DONE;
}
