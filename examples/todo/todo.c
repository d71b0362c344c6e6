/* todo.c: placeholder for the todo example. */
#include <herd.h>

int todo_collection(struct herd_request *req);

int
todo_collection(struct herd_request *req)
{
    herd_respond_json(req, 501, "{\"error\":\"not yet\"}\n");
    return HERD_DONE;
}
