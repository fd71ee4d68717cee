/*
 * default.c: the embedded default configuration (INTERFACE.md), used
 * when the relay runs without -c: UDP and TCP on 0.0.0.0:5514, format
 * auto, one file output writing JSON lines to standard output.
 */
#include "config.h"

const char sr_config_default_yaml[] =
    "# syslog-relay embedded default configuration\n"
    "log_level: info\n"
    "inputs:\n"
    "  - type: udp\n"
    "    listen: \"0.0.0.0:5514\"\n"
    "    format: auto\n"
    "  - type: tcp\n"
    "    listen: \"0.0.0.0:5514\"\n"
    "    format: auto\n"
    "outputs:\n"
    "  - name: stdout\n"
    "    type: file\n"
    "    path: \"-\"\n"
    "    format: json\n";
