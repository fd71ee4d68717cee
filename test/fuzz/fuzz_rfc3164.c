/*
 * fuzz_rfc3164.c: libFuzzer target for the RFC 3164 parser and the chain (the
 * body, with the invariants it checks, is in fuzz_parser.h).
 */
#define FUZZ_PARSER sr_parser_rfc3164
#define FUZZ_MODE SR_PARSE_RFC3164
#include "fuzz_parser.h"
