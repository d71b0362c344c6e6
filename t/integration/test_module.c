/* placeholder suite */
#include <criterion/criterion.h>

Test(placeholder, nothing)
{
    cr_assert(1);
}
