/*
 * registry.h: finding output descriptors by type name.
 */
#ifndef SR_REGISTRY_H
#define SR_REGISTRY_H

#include "output.h"

/* The descriptor for a `type:` value, or NULL. */
const sr_output_desc_t *sr_output_find(const char *type);
/* The i-th descriptor, NULL past the end (for listing types and docs). */
const sr_output_desc_t *sr_output_at(size_t i);

#endif
