/*
 * registry.c: the only file that lists every output type.
 */
#include "registry.h"

extern const sr_output_desc_t sr_output_datadog;
extern const sr_output_desc_t sr_output_file;
extern const sr_output_desc_t sr_output_redis;

static const sr_output_desc_t *const outputs[] = {
    &sr_output_datadog,
    &sr_output_file,
    &sr_output_redis,
};

const sr_output_desc_t *sr_output_find(const char *type)
{
    size_t i;

    for (i = 0; i < SR_ARRAY_SIZE(outputs); i++) {
        if (strcmp(outputs[i]->name, type) == 0) {
            return outputs[i];
        }
    }
    return NULL;
}

const sr_output_desc_t *sr_output_at(size_t i)
{
    return i < SR_ARRAY_SIZE(outputs) ? outputs[i] : NULL;
}
