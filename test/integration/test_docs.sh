#!/usr/bin/env bash
# docs/config.md stays true: its reference part is exactly what
# `syslog-relay --config-reference` prints from the key tables today.
. "$(dirname "$0")/lib.sh"
doc="$SR_SOURCE/docs/config.md"
grep -q '^<!-- generated -->$' "$doc" || sr_fail "docs/config.md lost its <!-- generated --> marker"
sed '1,/^<!-- generated -->$/d' "$doc" >"$T/doc-ref.md"
"$SR_BIN" --config-reference >"$T/bin-ref.md" || sr_fail "--config-reference failed"
if ! diff -u "$T/doc-ref.md" "$T/bin-ref.md" >"$T/diff"; then
    head -n 40 "$T/diff" >&2
    sr_fail "docs/config.md is out of date; regenerate it as its 'Regenerating the reference' section says"
fi
sr_ok "docs/config.md matches the key tables"
