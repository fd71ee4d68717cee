/* PLACEHOLDER: replaced by the file output implementation. */
#include "output.h"

static const sr_cfg_key_t keys[] = {{NULL}};
const sr_output_desc_t sr_output_file = {
    .name = "file", .description = "not yet implemented", .keys = keys, .conf_size = 8,
    .inst_size = sizeof(sr_output_t), .max_batch = 1,
};
