/*
 * fuzz_rfc5424.c: libFuzzer target for the RFC 5424 parser and the chain (the
 * body, with the invariants it checks, is in fuzz_parser.h).
 */
#define FUZZ_PARSER sr_parser_rfc5424
#define FUZZ_MODE SR_PARSE_RFC5424
#include "fuzz_parser.h"
