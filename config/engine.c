/*
 * engine.c: the generic key-table engine and configuration errors.
 *
 * A module describes its keys in an sr_cfg_key_t table (config.h); the
 * engine applies one table to one YAML mapping: defaults, types, bounds,
 * required keys, unknown keys (with a "did you mean" for near misses),
 * and writes each value into the module's struct at the key's offset.
 * Every problem becomes one "FILE:LINE:COLUMN: message" in the context,
 * naming the key, the bad value (never for SECRET keys) and what is
 * accepted. The engine owns what it allocates in the struct until
 * sr_cfg_release().
 *
 * Units: sizes are bytes, or a number with B, KiB, MiB or GiB (any case,
 * optional space); KB/MB/GB are refused with a hint, because they are
 * ambiguous. Durations are a number with ms, s, m or h, or several such
 * ("1m30s"); a bare number is refused except 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* ---- errors -------------------------------------------------------- */

void sr_cfg_ctx_init(sr_cfg_ctx_t *ctx, const char *file)
{
    ctx->file = file;
    ctx->errors = NULL;
    ctx->n_errors = 0;
}

void sr_cfg_ctx_free(sr_cfg_ctx_t *ctx)
{
    size_t i;

    for (i = 0; i < ctx->n_errors; i++) {
        sr_free(ctx->errors[i]);
    }
    sr_free(ctx->errors);
    ctx->errors = NULL;
    ctx->n_errors = 0;
}

static void add_error(sr_cfg_ctx_t *ctx, int line, int col, const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    ctx->errors = sr_realloc(ctx->errors, (ctx->n_errors + 1) * sizeof(*ctx->errors));
    ctx->errors[ctx->n_errors++] =
        sr_asprintf("%s:%d:%d: %s", ctx->file ? ctx->file : "<config>", line, col, msg);
}

void sr_cfg_error(sr_cfg_ctx_t *ctx, const sr_node_t *at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    add_error(ctx, at ? at->line : 1, at ? at->col : 1, fmt, ap);
    va_end(ap);
}

typedef struct err_pos_s {
    long line, col;
    size_t idx;
    char *text;
} err_pos_t;

static int err_pos_cmp(const void *a, const void *b)
{
    const err_pos_t *x = a, *y = b;

    if (x->line != y->line) {
        return x->line < y->line ? -1 : 1;
    }
    if (x->col != y->col) {
        return x->col < y->col ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void sr__cfg_sort_errors(sr_cfg_ctx_t *ctx, size_t from)
{
    size_t n = ctx->n_errors - from, plen, i;
    err_pos_t *v;
    char *end;
    const char *file = ctx->file ? ctx->file : "<config>";

    if (from >= ctx->n_errors || n < 2) {
        return;
    }
    plen = strlen(file) + 1;
    v = sr_calloc(n, sizeof(*v));
    for (i = 0; i < n; i++) {
        v[i].text = ctx->errors[from + i];
        v[i].idx = i;
        v[i].line = strtol(v[i].text + plen, &end, 10);
        v[i].col = *end == ':' ? strtol(end + 1, NULL, 10) : 0;
    }
    qsort(v, n, sizeof(*v), err_pos_cmp);
    for (i = 0; i < n; i++) {
        ctx->errors[from + i] = v[i].text;
    }
    sr_free(v);
}

void sr__cfg_error_at(sr_cfg_ctx_t *ctx, int line, int col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    add_error(ctx, line, col, fmt, ap);
    va_end(ap);
}

/* ---- scalar parsers ------------------------------------------------ */

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

/* Leading decimal digits into *v; returns the end, or NULL on none/overflow. */
static const char *parse_u64(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9') {
        if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) {
            return NULL;
        }
        x = x * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == s) {
        return NULL;
    }
    *v = x;
    return p;
}

int sr_cfg_parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {
        {"", 1}, {"b", 1}, {"kib", 1ull << 10}, {"mib", 1ull << 20}, {"gib", 1ull << 30},
        {"tib", 1ull << 40},
    };
    uint64_t v;
    const char *p;
    size_t i;

    if (s == NULL) {
        return SR_ECONFIG;
    }
    p = parse_u64(skip_space(s), &v);
    if (p == NULL) {
        return SR_ECONFIG;
    }
    p = skip_space(p);
    for (i = 0; i < SR_ARRAY_SIZE(units); i++) {
        if (strcasecmp(p, units[i].unit) == 0) {
            if (v > UINT64_MAX / units[i].mult) {
                return SR_ECONFIG;
            }
            *out = v * units[i].mult;
            return 0;
        }
    }
    return SR_ECONFIG;
}

int sr_cfg_parse_duration(const char *s, uint64_t *ms)
{
    uint64_t total = 0, v, mult;
    const char *p;

    if (s == NULL) {
        return SR_ECONFIG;
    }
    p = skip_space(s);
    if (strcmp(p, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (*p == '\0') {
        return SR_ECONFIG;
    }
    while (*p != '\0') {
        p = parse_u64(p, &v);
        if (p == NULL) {
            return SR_ECONFIG;
        }
        if (strncmp(p, "ms", 2) == 0) {
            mult = 1;
            p += 2;
        } else if (*p == 's') {
            mult = 1000;
            p++;
        } else if (*p == 'm') {
            mult = 60000;
            p++;
        } else if (*p == 'h') {
            mult = 3600000;
            p++;
        } else {
            return SR_ECONFIG;
        }
        if (v > UINT64_MAX / mult || total > UINT64_MAX - v * mult) {
            return SR_ECONFIG;
        }
        total += v * mult;
        p = skip_space(p);
    }
    *ms = total;
    return 0;
}

int sr_severity_from_name(const char *s)
{
    static const struct {
        const char *name;
        int sev;
    } names[] = {
        {"emerg", 0},   {"emergency", 0}, {"panic", 0}, {"alert", 1},   {"crit", 2},
        {"critical", 2}, {"err", 3},      {"error", 3}, {"warning", 4}, {"warn", 4},
        {"notice", 5},  {"info", 6},      {"informational", 6}, {"debug", 7},
    };
    size_t i;

    if (s == NULL) {
        return -1;
    }
    if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0') {
        return s[0] - '0';
    }
    for (i = 0; i < SR_ARRAY_SIZE(names); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            return names[i].sev;
        }
    }
    return -1;
}

/* sr_addr_parse with the reason for a refusal (NULL on success). */
static const char *addr_parse(const char *s, sr_addr_t *out)
{
    const char *colon, *host, *port_s;
    size_t host_len;
    char host_buf[INET6_ADDRSTRLEN + 1];
    uint64_t port;
    const char *end;
    struct sockaddr_in *sin;
    struct sockaddr_in6 *sin6;

    memset(out, 0, sizeof(*out));
    if (s == NULL || s[0] == '\0') {
        return "expected HOST:PORT, e.g. 0.0.0.0:514 or [::]:514";
    }
    if (strlen(s) >= sizeof(out->text)) {
        return "too long";
    }
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (end == NULL || end[1] != ':') {
            return "expected [IPv6]:PORT, e.g. [::]:514";
        }
        host = s + 1;
        host_len = (size_t)(end - host);
        port_s = end + 2;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) {
            return "expected HOST:PORT, e.g. 0.0.0.0:514 or [::]:514";
        }
        if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
            return "write an IPv6 address in brackets, e.g. [::1]:514";
        }
        host = s;
        host_len = (size_t)(colon - s);
        port_s = colon + 1;
    }
    if (host_len == 0) {
        return "the host is missing (use 0.0.0.0 or [::] for every address)";
    }
    if (host_len >= sizeof(host_buf)) {
        return "the host must be a numeric IPv4 or IPv6 address (names are not resolved "
               "for listeners)";
    }
    end = parse_u64(port_s, &port);
    if (end == NULL || *end != '\0' || port > 65535) {
        return "the port must be a number from 0 to 65535";
    }
    memcpy(host_buf, host, host_len);
    host_buf[host_len] = '\0';
    if (s[0] == '[') {
        sin6 = (struct sockaddr_in6 *)&out->sa;
        if (inet_pton(AF_INET6, host_buf, &sin6->sin6_addr) != 1) {
            return "not a valid IPv6 address";
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        out->len = sizeof(*sin6);
    } else {
        sin = (struct sockaddr_in *)&out->sa;
        if (inet_pton(AF_INET, host_buf, &sin->sin_addr) != 1) {
            return "the host must be a numeric IPv4 or IPv6 address (names are not resolved "
                   "for listeners)";
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        out->len = sizeof(*sin);
    }
    snprintf(out->text, sizeof(out->text), "%s", s);
    return NULL;
}

int sr_addr_parse(const char *s, sr_addr_t *out)
{
    return addr_parse(s, out) == NULL ? 0 : SR_ECONFIG;
}

/* ---- formatting ---------------------------------------------------- */

void sr__fmt_size(uint64_t v, char *buf, size_t len)
{
    if (v != 0 && v % (1ull << 40) == 0) {
        snprintf(buf, len, "%lluTiB", (unsigned long long)(v >> 40));
    } else if (v != 0 && v % (1ull << 30) == 0) {
        snprintf(buf, len, "%lluGiB", (unsigned long long)(v >> 30));
    } else if (v != 0 && v % (1ull << 20) == 0) {
        snprintf(buf, len, "%lluMiB", (unsigned long long)(v >> 20));
    } else if (v != 0 && v % (1ull << 10) == 0) {
        snprintf(buf, len, "%lluKiB", (unsigned long long)(v >> 10));
    } else {
        snprintf(buf, len, "%llu bytes", (unsigned long long)v);
    }
}

void sr__fmt_duration(uint64_t ms, char *buf, size_t len)
{
    if (ms == 0) {
        snprintf(buf, len, "0");
    } else if (ms % 3600000 == 0) {
        snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
    } else if (ms != 0 && ms % 60000 == 0) {
        snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
    } else if (ms != 0 && ms % 1000 == 0) {
        snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
    } else {
        snprintf(buf, len, "%llums", (unsigned long long)ms);
    }
}

/* A value quoted for a message: control characters escaped, long text cut. */
static const char *quote(const sr_cfg_key_t *k, const char *v, char *buf, size_t len)
{
    size_t o = 0, i;

    if (k != NULL && (k->flags & SR_CFG_SECRET)) {
        snprintf(buf, len, "(value hidden)");
        return buf;
    }
    buf[o++] = '"';
    for (i = 0; v[i] != '\0' && o + 8 < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (i == 60) {
            o += (size_t)snprintf(buf + o, len - o, "...");
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
        } else if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

static void join_choices(const char *const *choices, char *buf, size_t len)
{
    size_t o = 0, i;

    buf[0] = '\0';
    for (i = 0; choices != NULL && choices[i] != NULL && o < len; i++) {
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", choices[i]);
    }
}

const char *sr__cfg_type_name(const sr_cfg_key_t *k, char *buf, size_t len)
{
    char c[256];

    switch (k->type) {
    case SR_CFG_STRING:
        return "string";
    case SR_CFG_INT:
        if (k->min != 0 || k->max != 0) {
            snprintf(buf, len, "integer, %lld to %lld", (long long)k->min, (long long)k->max);
            return buf;
        }
        return "integer";
    case SR_CFG_BOOL:
        return "boolean";
    case SR_CFG_SIZE: {
        char a[32], b[32];
        if (k->min != 0 || k->max != 0) {
            sr__fmt_size((uint64_t)k->min, a, sizeof(a));
            sr__fmt_size((uint64_t)k->max, b, sizeof(b));
            snprintf(buf, len, "size, %s to %s", a, b);
            return buf;
        }
        return "size";
    }
    case SR_CFG_DURATION: {
        char a[32], b[32];
        if (k->min != 0 || k->max != 0) {
            sr__fmt_duration((uint64_t)k->min, a, sizeof(a));
            sr__fmt_duration((uint64_t)k->max, b, sizeof(b));
            snprintf(buf, len, "duration, %s to %s", a, b);
            return buf;
        }
        return "duration";
    }
    case SR_CFG_ENUM:
        join_choices(k->choices, c, sizeof(c));
        snprintf(buf, len, "one of: %s", c);
        return buf;
    case SR_CFG_ADDRESS:
        return "address (IP:PORT)";
    case SR_CFG_STRLIST:
        return "list of strings";
    case SR_CFG_PATH:
        return "path of a readable file";
    case SR_CFG_SEVERITY:
        return "severity (name or 0-7)";
    case SR_CFG_CUSTOM:
        return "see description";
    }
    return "?";
}

/* ---- applying a table ---------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j, prev, tmp, best;
    size_t row[64];

    if (la >= SR_ARRAY_SIZE(row) || lb >= SR_ARRAY_SIZE(row)) {
        return SIZE_MAX;
    }
    for (j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (i = 1; i <= la; i++) {
        prev = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            tmp = row[j];
            best = prev + (a[i - 1] == b[j - 1] ? 0 : 1);
            best = SR_MIN(best, row[j] + 1);
            best = SR_MIN(best, row[j - 1] + 1);
            row[j] = best;
            prev = tmp;
        }
    }
    return row[lb];
}

static bool in_list(const char *const *list, const char *s)
{
    size_t i;

    for (i = 0; list != NULL && list[i] != NULL; i++) {
        if (strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static const sr_cfg_key_t *find_key(const sr_cfg_key_t *keys, const char *name)
{
    for (; keys != NULL && keys->name != NULL; keys++) {
        if (strcmp(keys->name, name) == 0) {
            return keys;
        }
    }
    return NULL;
}

static void report_unknown(sr_cfg_ctx_t *ctx, const char *label, const sr_cfg_key_t *keys,
                           const sr_node_t *key, const char *const *skip, unsigned flags)
{
    sr_buf_t b;
    const char *best = NULL;
    size_t best_d = SIZE_MAX, d, i, limit;
    const sr_cfg_key_t *k;
    bool first = true;

    sr_buf_init(&b);
    limit = strlen(key->value) <= 3 ? 1 : 2;
    for (k = keys; k != NULL && k->name != NULL; k++) {
        d = edit_distance(key->value, k->name);
        if (d <= limit && d < best_d) {
            best = k->name;
            best_d = d;
        }
        sr_buf_printf(&b, "%s%s", first ? "" : ", ", k->name);
        first = false;
    }
    for (i = 0; !(flags & SR__CFG_SKIP_UNLISTED) && skip != NULL && skip[i] != NULL; i++) {
        d = edit_distance(key->value, skip[i]);
        if (d <= limit && d < best_d) {
            best = skip[i];
            best_d = d;
        }
        sr_buf_printf(&b, "%s%s", first ? "" : ", ", skip[i]);
        first = false;
    }
    sr_buf_putc(&b, '\0');
    if (best != NULL) {
        sr_cfg_error(ctx, key, "unknown key '%s' in %s (did you mean '%s'?); expected one of: %s",
                     key->value, label, best, b.base);
    } else {
        sr_cfg_error(ctx, key, "unknown key '%s' in %s; expected one of: %s", key->value, label,
                     b.base);
    }
    sr_buf_free(&b);
}

static const char *kind_name(const sr_node_t *n)
{
    return n->kind == SR_NODE_MAP ? "a mapping" : n->kind == SR_NODE_SEQ ? "a list" : "a scalar";
}

/* What a scalar key wants, for "expected X, not a list". */
static const char *scalar_kind(const sr_cfg_key_t *k, char *buf, size_t len)
{
    switch (k->type) {
    case SR_CFG_INT:
        return "an integer";
    case SR_CFG_BOOL:
        return "true or false";
    case SR_CFG_SIZE:
        return "a size";
    case SR_CFG_DURATION:
        return "a duration";
    case SR_CFG_ENUM: {
        char t[256];
        snprintf(buf, len, "a value (%s)", sr__cfg_type_name(k, t, sizeof(t)));
        return buf;
    }
    case SR_CFG_ADDRESS:
        return "an address (IP:PORT)";
    case SR_CFG_SEVERITY:
        return "a severity";
    default:
        return "a string";
    }
}

static void free_field(const sr_cfg_key_t *k, void *field)
{
    sr_strlist_t *l;
    size_t i;

    switch (k->type) {
    case SR_CFG_STRING:
    case SR_CFG_PATH:
        sr_free(*(char **)field);
        *(char **)field = NULL;
        break;
    case SR_CFG_STRLIST:
        l = field;
        for (i = 0; i < l->n; i++) {
            sr_free(l->v[i]);
        }
        sr_free(l->v);
        l->v = NULL;
        l->n = 0;
        break;
    default:
        break;
    }
}

/* "10MB" / "10m" / "10 G": the unit a user most likely meant, in c. */
static bool size_unit_hint(const char *s, char *c, size_t len)
{
    static const char *const fixes[][2] = {
        {"k", "KiB"}, {"kb", "KiB"}, {"m", "MiB"}, {"mb", "MiB"}, {"g", "GiB"}, {"gb", "GiB"},
    };
    uint64_t v;
    const char *p = parse_u64(skip_space(s), &v);
    size_t i;

    if (p == NULL) {
        return false;
    }
    p = skip_space(p);
    for (i = 0; i < SR_ARRAY_SIZE(fixes); i++) {
        if (strcasecmp(p, fixes[i][0]) == 0) {
            snprintf(c, len, "%llu%s", (unsigned long long)v, fixes[i][1]);
            return true;
        }
    }
    return false;
}

static bool check_bounds(sr_cfg_ctx_t *ctx, const char *kp, const sr_cfg_key_t *k,
                         const sr_node_t *n, uint64_t v, bool is_signed, int64_t sv)
{
    char q[160], lim[40];
    bool low, high;

    if (k->min == 0 && k->max == 0) {
        return true;
    }
    if (is_signed) {
        low = sv < k->min;
        high = sv > k->max;
    } else {
        low = k->min > 0 && v < (uint64_t)k->min;
        high = k->max > 0 && v > (uint64_t)k->max; /* max 0: no upper bound */
    }
    if (!low && !high) {
        return true;
    }
    if (k->type == SR_CFG_SIZE) {
        sr__fmt_size((uint64_t)(low ? k->min : k->max), lim, sizeof(lim));
    } else if (k->type == SR_CFG_DURATION) {
        sr__fmt_duration((uint64_t)(low ? k->min : k->max), lim, sizeof(lim));
    } else {
        snprintf(lim, sizeof(lim), "%lld", (long long)(low ? k->min : k->max));
    }
    sr_cfg_error(ctx, n, "%s: %s is too %s (at %s %s)", kp, quote(k, n->value, q, sizeof(q)),
                 low ? "small" : "large", low ? "least" : "most", lim);
    return false;
}

/*
 * Parse one value into field. n is a scalar (or, for lists, a sequence);
 * kp is the key path for messages. Returns true when the field was set.
 */
static bool set_value(sr_cfg_ctx_t *ctx, const char *kp, const sr_cfg_key_t *k,
                      const sr_node_t *n, void *field)
{
    char q[160], c[256];
    const char *why;
    uint64_t u;
    int64_t i64;
    char *end;
    int sev;
    size_t i, before;
    sr_strlist_t *l;
    FILE *f;
    struct stat st;
    sr_addr_t addr;

    if (sr__node_reported(n)) {
        return false;
    }
    if (k->type == SR_CFG_CUSTOM) {
        before = ctx->n_errors;
        if (k->parse == NULL || k->parse(ctx, n, field) != 0) {
            if (ctx->n_errors == before) {
                sr_cfg_error(ctx, n, "%s: invalid value", kp);
            }
            return false;
        }
        return ctx->n_errors == before;
    }
    if (k->type == SR_CFG_STRLIST) {
        if (n->kind != SR_NODE_SEQ) {
            sr_cfg_error(ctx, n, "%s: expected a list of strings, not %s", kp, kind_name(n));
            return false;
        }
        for (i = 0; i < n->n; i++) {
            if (n->items[i]->kind != SR_NODE_SCALAR) {
                sr_cfg_error(ctx, n->items[i], "%s: expected a list of strings, found %s", kp,
                             kind_name(n->items[i]));
                return false;
            }
            if (sr__node_reported(n->items[i])) {
                return false;
            }
        }
        free_field(k, field);
        l = field;
        l->n = n->n;
        l->v = sr_calloc(n->n ? n->n : 1, sizeof(char *));
        for (i = 0; i < n->n; i++) {
            l->v[i] = sr_strdup(n->items[i]->value);
        }
        return true;
    }
    if (n->kind != SR_NODE_SCALAR) {
        sr_cfg_error(ctx, n, "%s: expected %s, not %s", kp, scalar_kind(k, c, sizeof(c)),
                     kind_name(n));
        return false;
    }

    switch (k->type) {
    case SR_CFG_STRING:
        free_field(k, field);
        *(char **)field = sr_strdup(n->value);
        return true;
    case SR_CFG_INT:
        errno = 0;
        i64 = strtoll(n->value, &end, 10);
        if (n->value[0] == '\0' || *end != '\0' || errno != 0) {
            sr_cfg_error(ctx, n, "%s: %s is not an integer", kp, quote(k, n->value, q, sizeof(q)));
            return false;
        }
        if (!check_bounds(ctx, kp, k, n, 0, true, i64)) {
            return false;
        }
        *(int64_t *)field = i64;
        return true;
    case SR_CFG_BOOL:
        if (strcasecmp(n->value, "true") == 0 || strcasecmp(n->value, "yes") == 0 ||
            strcasecmp(n->value, "on") == 0) {
            *(bool *)field = true;
        } else if (strcasecmp(n->value, "false") == 0 || strcasecmp(n->value, "no") == 0 ||
                   strcasecmp(n->value, "off") == 0) {
            *(bool *)field = false;
        } else {
            sr_cfg_error(ctx, n, "%s: %s is not a boolean (expected true or false)", kp,
                         quote(k, n->value, q, sizeof(q)));
            return false;
        }
        return true;
    case SR_CFG_SIZE:
        if (sr_cfg_parse_size(n->value, &u) != 0) {
            if (size_unit_hint(n->value, c, sizeof(c))) {
                sr_cfg_error(ctx, n, "%s: %s is not a size (did you mean %s? sizes use KiB, "
                             "MiB and GiB)", kp, quote(k, n->value, q, sizeof(q)), c);
                return false;
            }
            sr_cfg_error(ctx, n,
                         "%s: %s is not a size (expected bytes, or a number with KiB, MiB or "
                         "GiB, e.g. 64KiB)",
                         kp, quote(k, n->value, q, sizeof(q)));
            return false;
        }
        if (!check_bounds(ctx, kp, k, n, u, false, 0)) {
            return false;
        }
        *(uint64_t *)field = u;
        return true;
    case SR_CFG_DURATION:
        if (sr_cfg_parse_duration(n->value, &u) != 0) {
            sr_cfg_error(ctx, n,
                         "%s: %s is not a duration (expected a number with ms, s, m or h, "
                         "e.g. 250ms, 10s, 5m)",
                         kp, quote(k, n->value, q, sizeof(q)));
            return false;
        }
        if (!check_bounds(ctx, kp, k, n, u, false, 0)) {
            return false;
        }
        *(uint64_t *)field = u;
        return true;
    case SR_CFG_ENUM:
        for (i = 0; k->choices != NULL && k->choices[i] != NULL; i++) {
            if (strcmp(n->value, k->choices[i]) == 0) {
                *(int *)field = (int)i;
                return true;
            }
        }
        join_choices(k->choices, c, sizeof(c));
        sr_cfg_error(ctx, n, "%s: %s is not one of: %s", kp, quote(k, n->value, q, sizeof(q)), c);
        return false;
    case SR_CFG_ADDRESS:
        why = addr_parse(n->value, &addr);
        if (why != NULL) {
            sr_cfg_error(ctx, n, "%s: %s is not a valid address: %s", kp,
                         quote(k, n->value, q, sizeof(q)), why);
            return false;
        }
        *(sr_addr_t *)field = addr;
        return true;
    case SR_CFG_PATH:
        if (n->value[0] == '\0') {
            /* An empty path means "not set" (INTERFACE writes ca_file: ""). */
            free_field(k, field);
            return true;
        }
        if (stat(n->value, &st) == 0 && S_ISDIR(st.st_mode)) {
            sr_cfg_error(ctx, n, "%s: cannot read %s: Is a directory", kp, n->value);
            return false;
        }
        f = fopen(n->value, "r");
        if (f == NULL) {
            sr_cfg_error(ctx, n, "%s: cannot read %s: %s", kp, n->value, strerror(errno));
            return false;
        }
        fclose(f);
        free_field(k, field);
        *(char **)field = sr_strdup(n->value);
        return true;
    case SR_CFG_SEVERITY:
        sev = sr_severity_from_name(n->value);
        if (sev < 0) {
            sr_cfg_error(ctx, n,
                         "%s: %s is not a severity (expected emerg, alert, crit, err, warning, "
                         "notice, info, debug, or 0-7)",
                         kp, quote(k, n->value, q, sizeof(q)));
            return false;
        }
        *(int *)field = sev;
        return true;
    default:
        return false;
    }
}

int sr__cfg_apply_ex(sr_cfg_ctx_t *ctx, const char *path, const char *label,
                     const sr_cfg_key_t *keys, const sr_node_t *node, void *st,
                     const char *const *skip, unsigned flags)
{
    size_t before = ctx->n_errors, i;
    const sr_cfg_key_t *k;
    const sr_node_t *v;
    sr_node_t defnode;
    char kp[256];

    if (node != NULL && sr_node_is_null(node)) {
        node = NULL;
    }
    if (node != NULL && node->kind != SR_NODE_MAP) {
        if (!sr__node_reported(node)) {
            sr_cfg_error(ctx, node, "%s: expected a mapping, not %s",
                         path[0] ? path : label, kind_name(node));
        }
        return (int)(ctx->n_errors - before);
    }
    for (i = 0; node != NULL && !(flags & SR__CFG_NO_UNKNOWN) && i < node->n; i++) {
        if (find_key(keys, node->keys[i]->value) == NULL && !in_list(skip, node->keys[i]->value)) {
            report_unknown(ctx, label, keys, node->keys[i], skip, flags);
        }
    }
    for (k = keys; k != NULL && k->name != NULL; k++) {
        snprintf(kp, sizeof(kp), "%s%s%s", path, path[0] ? "." : "", k->name);
        v = sr_node_get(node, k->name);
        if (v != NULL && !sr_node_is_null(v)) {
            set_value(ctx, kp, k, v, (char *)st + k->offset);
            continue;
        }
        if (k->flags & SR_CFG_REQUIRED) {
            sr_cfg_error(ctx, v ? v : node, "missing required key '%s' in %s", k->name, label);
            continue;
        }
        if (k->def != NULL) {
            memset(&defnode, 0, sizeof(defnode));
            defnode.kind = SR_NODE_SCALAR;
            defnode.line = node ? node->line : 1;
            defnode.col = node ? node->col : 1;
            defnode.value = (char *)k->def;
            defnode.plain = true;
            set_value(ctx, kp, k, &defnode, (char *)st + k->offset);
        }
    }
    return (int)(ctx->n_errors - before);
}

int sr_cfg_apply(sr_cfg_ctx_t *ctx, const char *what, const sr_cfg_key_t *keys,
                 const sr_node_t *node, void *st, const char *const *skip)
{
    return sr__cfg_apply_ex(ctx, what ? what : "", what ? what : "the configuration", keys, node,
                            st, skip, 0);
}

void sr_cfg_release(const sr_cfg_key_t *keys, void *st)
{
    const sr_cfg_key_t *k;

    if (st == NULL) {
        return;
    }
    for (k = keys; k != NULL && k->name != NULL; k++) {
        free_field(k, (char *)st + k->offset);
    }
}

/* ---- reference ------------------------------------------------------ */

/* A Markdown table cell: '|' would end the cell, a newline the row. */
static void print_cell(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|') {
            fputs("\\|", f);
        } else {
            fputc(*s == '\n' ? ' ' : *s, f);
        }
    }
}

void sr__cfg_print_table(FILE *f, const sr_cfg_key_t *keys, const char *prefix)
{
    const sr_cfg_key_t *k;
    char t[256];

    fprintf(f, "| key | type | default | description |\n");
    fprintf(f, "| --- | --- | --- | --- |\n");
    for (k = keys; k != NULL && k->name != NULL; k++) {
        fprintf(f, "| `%s%s` | ", prefix ? prefix : "", k->name);
        print_cell(f, sr__cfg_type_name(k, t, sizeof(t)));
        fprintf(f, " | %s%s%s | ", k->flags & SR_CFG_REQUIRED ? "required" : k->def ? "`" : "",
                k->flags & SR_CFG_REQUIRED ? "" : k->def ? k->def : "(none)",
                !(k->flags & SR_CFG_REQUIRED) && k->def ? "`" : "");
        print_cell(f, k->desc ? k->desc : "");
        fprintf(f, " |\n");
    }
    fprintf(f, "\n");
}
