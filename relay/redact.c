/*
 * redact.c: the `redact:` rules, the built-in rule library, and the hot
 * path that masks secrets in every record before any output sees it.
 *
 * Owns: the compiled rules (PCRE2 code, JIT code, parsed replacements,
 * per-rule counters) in an immutable sr_redactor_t, shared read-only by
 * every thread; and the per-thread sr_redact_scratch_t (match data, match
 * context with limits and the Luhn callout, JIT stack, reusable buffers).
 * In steady state a record costs no allocation unless a rule changed it,
 * in which case it gets one new text buffer holding every field.
 *
 * Fail closed: a match that stops on a PCRE2 error (match or depth limit,
 * JIT stack, anything unexpected) replaces the whole field with
 * SR_REDACT_FAILED_MARKER; the text never goes through unredacted.
 *
 * Custom patterns are compiled with PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
 * so invalid bytes are barriers a match cannot cross but never make a
 * rule skip the rest of the field. The built-in patterns are written for
 * byte mode (no UTF): their character classes then cover any byte above
 * 0x7f, valid UTF-8 or not, so a stray byte inside a password cannot
 * split it. docs/redaction.md describes the rules for users.
 *
 * Candidate-start hints: a built-in may have a hint, a plain C scan that
 * finds the next offset where its pattern could begin a match. PCRE2 then
 * runs only there, with a second compilation of the same pattern made
 * PCRE2_ANCHORED. A hint may propose positions that fail, but must never
 * skip one that could match (each hint's comment gives the argument), and
 * the matches, limits and failures are then exactly those of the plain
 * unanchored search. credit_card and email also have a decider, which
 * works out in C what that anchored attempt would answer, for candidates
 * short enough that PCRE2 could not reach a limit on them; longer ones go
 * to PCRE2. The patterns stay the definition of what matches:
 * test/unit/check_redact.c and test/fuzz/fuzz_redact.c compare both
 * shortcuts with the plain search.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "metrics.h"
#include "redact.h"

/* Limits per match (a pcre2_match call scans one field from one offset).
 * Chosen so that the built-in rules on a 64 KiB field of the worst
 * benign input stay well under them, while a catastrophic pattern is cut
 * off within milliseconds. Overridable per rule (match_limit,
 * depth_limit); docs/redaction.md gives the measurements. */
#define DEFAULT_MATCH_LIMIT "5000000"
#define DEFAULT_DEPTH_LIMIT "100000"
/* The JIT stack starts small and may grow to this. */
#define JIT_STACK_START (32 * 1024)
#define JIT_STACK_MAX (1024 * 1024)
/* Callout number that runs the Luhn check over the text matched so far. */
#define CALLOUT_LUHN 1
/* Hints are used only when a rule's match and depth limits are at least
 * this. Both limits count per start offset (JIT and interpreter alike).
 * Every offset a hint skips fails in PCRE2 within a few dozen steps (see
 * the hints), and every candidate that PCRE2's own start-up checks would
 * have skipped fails within a few hundred, so with these limits neither
 * way can fail closed where the other does not; a rule configured with
 * tinier limits keeps the plain search and its exact failure behaviour. */
#define HINT_MIN_LIMIT 10000
/* A hint's answer when no match can begin at or after start. */
#define HINT_NONE SIZE_MAX

enum {
    FIELD_MESSAGE = 1 << 0,
    FIELD_SD = 1 << 1,
    FIELD_HOSTNAME = 1 << 2,
    FIELD_APP_NAME = 1 << 3,
    FIELD_ANY = 0 /* the raw line and plain strings: every rule applies */
};

static const char *const field_names[] = {"message", "structured_data", "hostname", "app_name",
                                          NULL};

/* ---- candidate-start hints ----------------------------------------- */

/*
 * A hint: given the subject p[0..n) and start <= n, the smallest offset
 * c >= start at which the built-in's pattern might begin a match, or
 * HINT_NONE. The invariant: no offset in [start, c) (or in [start, n]
 * for HINT_NONE) can begin a match, and PCRE2 fails at each of them
 * within a few dozen steps. Look-behinds see bytes before start, so a
 * hint may too.
 */
typedef size_t (*hint_fn)(const unsigned char *p, size_t n, size_t start);

static bool is_digit(unsigned char c)
{
    return (unsigned char)(c - '0') < 10;
}

typedef unsigned char u8x16_t __attribute__((vector_size(16)));

/* The first lane of a vector comparison's result that is set, or 16. */
static inline size_t first_lane(u8x16_t v)
{
    uint64_t m[2];

    memcpy(m, &v, 16);
    if ((m[0] | m[1]) == 0) {
        return 16;
    }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return m[0] != 0 ? (size_t)__builtin_ctzll(m[0]) / 8 : 8 + (size_t)__builtin_ctzll(m[1]) / 8;
#else
    {
        size_t k = 0;

        while (v[k] == 0) {
            k++;
        }
        return k;
    }
#endif
}

/*
 * The offset of the first ASCII digit in p[i..n), or n. Most bytes of a
 * record are not digits, and a byte at a time this scan was most of the
 * credit_card hint's time, so it tests sixteen at once with GCC/Clang
 * vector extensions (SSE2 on x86-64, NEON on arm64, plain code
 * elsewhere): (b - '0') < 10 as unsigned bytes holds for digits alone.
 * In the block with a digit, the lowest set byte of the mask is the
 * first digit when the machine is little-endian (first_lane); otherwise
 * first_lane looks a byte at a time. next_delim below works the same way.
 */
static size_t next_digit(const unsigned char *p, size_t n, size_t i)
{
    u8x16_t v;
    size_t k;

    for (; i + 16 <= n; i += 16) {
        memcpy(&v, p + i, 16);
        if ((k = first_lane((u8x16_t)(v - (unsigned char)'0' < (unsigned char)10))) < 16) {
            return i + k;
        }
    }
    while (i < n && !is_digit(p[i])) {
        i++;
    }
    return i;
}

/* Byte classes of the email pattern, one table look-up per byte. */
enum {
    C_ALNUM = 1 << 0, /* [A-Za-z0-9\x80-\xff]: a domain label's first and last byte */
    C_HYPHEN = 1 << 1,
    C_LOCAL = 1 << 2, /* [A-Za-z0-9._%+\x80-\xff-]: the local part */
    C_ALPHA = 1 << 3, /* [A-Za-z]: the top-level domain */
};

static const unsigned char email_class[256] = {
    ['0' ... '9'] = C_ALNUM | C_LOCAL,
    ['A' ... 'Z'] = C_ALNUM | C_LOCAL | C_ALPHA,
    ['a' ... 'z'] = C_ALNUM | C_LOCAL | C_ALPHA,
    [0x80 ... 0xff] = C_ALNUM | C_LOCAL,
    ['-'] = C_HYPHEN | C_LOCAL,
    ['.'] = C_LOCAL,
    ['_'] = C_LOCAL,
    ['%'] = C_LOCAL,
    ['+'] = C_LOCAL,
};

static bool is_local(unsigned char c)
{
    return email_class[c] & C_LOCAL;
}

/*
 * email: (?<!L)L+@... where L is the local-part class, and '@' is not in
 * L. A match at s needs L+ to run from s to an '@', and as every byte
 * between is in L, the run from s has to reach the '@' unbroken; the
 * look-behind needs p[s-1] outside L (or s == 0). So s is the first byte
 * of the maximal L-run that ends right before some '@' at a > s. For each
 * '@' at or after start, in order, walk back over its run (runs of
 * different '@'s are disjoint, so that is linear): an empty run gives no
 * candidate; a run that starts before start gives none either, since
 * every position of it at or after start has an L byte before it (the
 * look-behind reads bytes before start too). Elsewhere PCRE2 fails at
 * the look-behind, the first byte, or at the end of the run (the
 * repeat is possessive, being followed by '@', which L lacks).
 */
static size_t hint_email(const unsigned char *p, size_t n, size_t start)
{
    const unsigned char *at;
    size_t from = start, a, r;

    while (from < n && (at = memchr(p + from, '@', n - from)) != NULL) {
        a = (size_t)(at - p);
        r = a;
        while (r > start && is_local(p[r - 1])) {
            r--;
        }
        if (r < a && (r > start || r == 0 || !is_local(p[r - 1]))) {
            return r;
        }
        from = a + 1;
    }
    return HINT_NONE;
}

/*
 * credit_card: (?<![0-9])(?<![0-9]\.)[0-9](?:[ -]?[0-9]){12,18}... A match
 * at s needs a digit at s, no digit before it and no digit-dot before
 * it, and then a chain of at least 13 digits, consecutive ones joined by
 * at most one ' ' or '-'. Walk the chain from such an s, counting up to
 * 13 digits: with 13 or more s is a candidate (PCRE2 then checks the
 * length, the end and Luhn). With fewer, no position up to the chain's
 * last digit e can start a match either: a digit there follows a digit
 * (look-behind fails) or a single separator, and then its own chain is a
 * suffix of this one, shorter still; separators are not digits. PCRE2
 * fails on such a chain after one step per byte of it, before the
 * callout, so scanning on from e + 1 skips nothing.
 */
static size_t hint_credit_card(const unsigned char *p, size_t n, size_t start)
{
    size_t i = start, k, digits;

    while ((i = next_digit(p, n, i)) < n) {
        if ((i > 0 && is_digit(p[i - 1])) || (i > 1 && p[i - 1] == '.' && is_digit(p[i - 2]))) {
            /* The rest of this run of digits follows a digit too. */
            do {
                i++;
            } while (i < n && is_digit(p[i]));
            continue;
        }
        k = i;
        digits = 1;
        while (digits < 13) {
            if (k + 1 < n && is_digit(p[k + 1])) {
                k++;
            } else if (k + 2 < n && (p[k + 1] == ' ' || p[k + 1] == '-') && is_digit(p[k + 2])) {
                k += 2;
            } else {
                break;
            }
            digits++;
        }
        if (digits == 13) {
            return i;
        }
        i = k + 1;
    }
    return HINT_NONE;
}

/* A digit's value after Luhn doubling (2d, less 9 above 9). */
static const unsigned char luhn_doubled[10] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};

/* The Luhn check over the digits of p[0..n) (other bytes skipped): from
 * the right, every second digit doubled; the sum a multiple of 10. */
static bool luhn_ok(const char *p, size_t n)
{
    unsigned sum = 0, digits = 0;
    size_t i;

    for (i = n; i-- > 0;) {
        if (is_digit((unsigned char)p[i])) {
            sum += digits++ % 2 ? luhn_doubled[p[i] - '0'] : (unsigned)(p[i] - '0');
        }
    }
    return digits >= 2 && sum % 10 == 0;
}

/*
 * Deciders. For credit_card and email, what the anchored PCRE2 attempt at
 * a candidate s would answer can be worked out in a few lines of C, for
 * about a tenth of the cost of the JIT call (and for credit_card, of its
 * Luhn callout). A decider returns the end of the match at s, HINT_NONE
 * when there is none, or DECIDE_PCRE when the candidate is longer than it
 * takes on: PCRE2 then judges it, so the match and depth limits (which
 * can make PCRE2 fail closed on a very long candidate) keep their exact
 * effect. Within the bounds a decider takes, PCRE2 cannot reach any limit
 * a hinted rule may have (HINT_MIN_LIMIT). Each comment below gives the
 * pattern's backtracking order the decider follows; test/unit/
 * check_redact.c and test/fuzz/fuzz_redact.c compare the results with
 * the plain PCRE2 search.
 */
#define DECIDE_PCRE (SIZE_MAX - 1)

typedef size_t (*decide_fn)(const unsigned char *p, size_t n, size_t s);

/*
 * credit_card at s: the look-behinds, then [0-9] and {12,18} steps of
 * [ -]?[0-9]. A step is one digit, or one separator and a digit; never
 * both ways (a separator is no digit), so the steps are fixed by the text
 * and the greedy repeat takes as many as there are, up to 18. PCRE2 then
 * tries the ends from the longest down to 13 digits: the look-ahead
 * (?![0-9]|\.[0-9]), then the Luhn callout over the text so far; the
 * first end that passes both is the match.
 */
static size_t decide_credit_card(const unsigned char *p, size_t n, size_t s)
{
    unsigned char digit[19];
    size_t end[19], k = s;
    unsigned j = 0, i, sum;

    if (s >= n || !is_digit(p[s]) || (s > 0 && is_digit(p[s - 1])) ||
        (s > 1 && p[s - 1] == '.' && is_digit(p[s - 2]))) {
        return HINT_NONE;
    }
    for (;;) {
        digit[j] = (unsigned char)(p[k] - '0');
        end[j++] = ++k;
        if (j == 19) {
            break;
        }
        if (k < n && is_digit(p[k])) {
            continue;
        }
        if (k + 1 < n && (p[k] == ' ' || p[k] == '-') && is_digit(p[k + 1])) {
            k++;
            continue;
        }
        break;
    }
    for (; j >= 13; j--) {
        k = end[j - 1];
        if ((k < n && is_digit(p[k])) || (k + 1 < n && p[k] == '.' && is_digit(p[k + 1]))) {
            continue;
        }
        /* luhn_ok() over the digits alone. */
        for (sum = 0, i = j; i >= 2; i -= 2) {
            sum += digit[i - 1] + luhn_doubled[digit[i - 2]];
        }
        if (i == 1) {
            sum += digit[0];
        }
        if (sum % 10 == 0) {
            return k;
        }
    }
    return HINT_NONE;
}

/* Most local-part bytes and domain labels a decider takes on itself. */
#define EMAIL_DECIDE_LOCAL 256
#define EMAIL_DECIDE_LABELS 16

/*
 * email at s: the look-behind, L+ (which runs to the end of the L-run,
 * since '@' is not in L) and '@'. Then (?:label\.)+ where a label is
 * X(?:[X-]{0,61}X)?: as '.' is in neither class, a label followed by a
 * '.' is the whole run of [X-] bytes before that '.', so each repetition
 * is fixed by the text: the run, 1 to 63 bytes, X at both ends, and a
 * '.' after it. The greedy + takes every such label in a row; then
 * [A-Za-z]{2,63} (greedy, nothing after it) needs two letters. PCRE2
 * backtracks by giving up the last label, one at a time, and takes the
 * first count of labels after which two letters follow.
 */
static size_t decide_email(const unsigned char *p, size_t n, size_t s)
{
    size_t after[EMAIL_DECIDE_LABELS + 1], a, q, j, t;
    unsigned k = 0;

    if (s >= n || (s > 0 && is_local(p[s - 1]))) {
        return HINT_NONE;
    }
    for (a = s; a < n && is_local(p[a]); a++) {
        if (a - s > EMAIL_DECIDE_LOCAL) {
            return DECIDE_PCRE;
        }
    }
    if (a == s || a >= n || p[a] != '@') {
        return HINT_NONE;
    }
    for (q = a + 1;;) {
        for (j = q; j < n && (email_class[p[j]] & (C_ALNUM | C_HYPHEN)); j++) {
        }
        if (j == q || j - q > 63 || j >= n || p[j] != '.' || !(email_class[p[q]] & C_ALNUM) ||
            !(email_class[p[j - 1]] & C_ALNUM)) {
            break;
        }
        if (k == EMAIL_DECIDE_LABELS) {
            return DECIDE_PCRE;
        }
        after[k++] = q = j + 1;
    }
    while (k > 0) {
        q = after[--k];
        for (t = 0; t < 63 && q + t < n && (email_class[p[q + t]] & C_ALPHA); t++) {
        }
        if (t >= 2) {
            return q + t;
        }
    }
    return HINT_NONE;
}

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (unsigned char)((c | 0x20) - 'a') < 6;
}

/* [A-Za-z0-9_]: a byte that ipv4 and ipv6 refuse right before a match,
 * along with '.' (and ':' for ipv6). */
static bool is_word(unsigned char c)
{
    return is_digit(c) || (unsigned char)((c | 0x20) - 'a') < 26 || c == '_';
}

/* The number of digits at p[i..n), counting no further than max. */
static size_t digit_run(const unsigned char *p, size_t n, size_t i, size_t max)
{
    size_t k = 0;

    while (k < max && i + k < n && is_digit(p[i + k])) {
        k++;
    }
    return k;
}

/*
 * ipv4: (?<![A-Za-z0-9_.])OCTET(?:\.OCTET){3}(?![A-Za-z0-9_]|\.[0-9]),
 * each OCTET one to three digits. An OCTET followed by '.' is a whole run
 * of one to three digits (a shorter prefix of a run is followed by a
 * digit), and so is the last one (the look-ahead refuses a digit after
 * it). So a match at s has its first '.' at d = s + L, where p[s..d) is
 * the whole run of one to three digits before d (p[s-1] is no digit, by
 * the look-behind), followed by two more such runs each ending in '.',
 * and a fourth run. Two match starts have different first dots, in the
 * same order (a start between s and its first dot would follow a
 * digit). So: for each '.' at or after start, in order, walk back over
 * its digits; if they start at s >= start, number one to three, the
 * byte before s passes the look-behind, and the three runs follow, s is
 * the candidate. Elsewhere PCRE2 fails within a few steps: at the
 * look-behind, or at an OCTET that no '.' follows.
 */
static size_t hint_ipv4(const unsigned char *p, size_t n, size_t start)
{
    const unsigned char *dot;
    size_t from = start, d, s, i, k, run;

    while (from < n && (dot = memchr(p + from, '.', n - from)) != NULL) {
        d = (size_t)(dot - p);
        from = d + 1;
        s = d;
        while (s > start && d - s < 4 && is_digit(p[s - 1])) {
            s--;
        }
        if (s == d || d - s > 3 || (s > 0 && (is_word(p[s - 1]) || p[s - 1] == '.'))) {
            continue;
        }
        i = d + 1;
        for (k = 0; k < 3; k++) {
            run = digit_run(p, n, i, 4);
            if (run == 0 || run > 3) {
                break;
            }
            i += run;
            if (k < 2 && (i >= n || p[i++] != '.')) {
                break;
            }
        }
        if (k == 3) {
            return s;
        }
    }
    return HINT_NONE;
}

/*
 * ipv6: (?<![A-Za-z0-9_:.])(?=[0-9A-Fa-f]{0,4}:)... Every match begins
 * with that look-ahead: zero to four hex digits, then a ':'. So a match
 * at s has its first ':' at c = s + L, with p[s..c) hex digits, L <= 4,
 * and since p[s-1] fails the look-behind's class (which holds every hex
 * digit), p[s..c) is the whole run of hex digits before c. As for ipv4,
 * different starts have different first colons in the same order. So:
 * for each ':' at or after start, in order, walk back over hex digits;
 * if they start at s >= start, number at most four, and the byte before
 * s passes the look-behind, s is the candidate (PCRE2 judges the rest).
 * Elsewhere PCRE2 fails within a few steps, at the look-behind or the
 * look-ahead.
 */
static size_t hint_ipv6(const unsigned char *p, size_t n, size_t start)
{
    const unsigned char *colon;
    size_t from = start, c, s;

    while (from < n && (colon = memchr(p + from, ':', n - from)) != NULL) {
        c = (size_t)(colon - p);
        from = c + 1;
        s = c;
        while (s > start && c - s < 5 && is_hex(p[s - 1])) {
            s--;
        }
        if (c - s > 4 || (s > 0 && (is_word(p[s - 1]) || p[s - 1] == '.' || p[s - 1] == ':'))) {
            continue;
        }
        return s;
    }
    return HINT_NONE;
}

/* The first ':' or '=' in p[i..n), or n. */
static size_t next_delim(const unsigned char *p, size_t n, size_t i)
{
    u8x16_t v;
    size_t k;

    for (; i + 16 <= n; i += 16) {
        memcpy(&v, p + i, 16);
        if ((k = first_lane((u8x16_t)(v == (unsigned char)':') | (u8x16_t)(v == (unsigned char)'='))) <
            16) {
            return i + k;
        }
    }
    while (i < n && p[i] != ':' && p[i] != '=') {
        i++;
    }
    return i;
}

/* PCRE2's \s without UCP: space, \t, \n, \v, \f, \r. */
static bool is_pcre_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* p[e - len..e) is lit (lower case) in any case. */
static bool ends_with_ci(const unsigned char *p, size_t e, const char *lit, size_t len)
{
    size_t i;

    if (e < len) {
        return false;
    }
    for (i = 0; i < len; i++) {
        if ((p[e - len + i] | 0x20) != (unsigned char)lit[i]) {
            return false;
        }
    }
    return true;
}

/* Smaller of best and e - len when p[e - len..e) is word (any case). */
static size_t word_start(const unsigned char *p, size_t e, const char *word, size_t len,
                         size_t best)
{
    return ends_with_ci(p, e, word, len) && e - len < best ? e - len : best;
}

/* The start of a SECRET_KEYS word that ends at e, the smallest one if
 * several do, or HINT_NONE. Dispatched on the last letter, which rules
 * out most delimiters at once (key=value logs have many). */
static size_t secret_key_start(const unsigned char *p, size_t e)
{
#define WORD(w) (w), sizeof(w) - 1
    static const struct {
        const char *w;
        size_t n;
    } keyed[] = {{WORD("api")}, {WORD("access")}, {WORD("secret")}, {WORD("private")}};
    size_t best = HINT_NONE, i, k;

    if (e == 0) {
        return HINT_NONE;
    }
    switch (p[e - 1] | 0x20) {
    case 'd':
        best = word_start(p, e, WORD("password"), best);
        best = word_start(p, e, WORD("passwd"), best);
        return word_start(p, e, WORD("pwd"), best);
    case 'e':
        return word_start(p, e, WORD("passphrase"), best);
    case 't':
        return word_start(p, e, WORD("secret"), best);
    case 'n':
        return word_start(p, e, WORD("token"), best);
    case 'l':
        return word_start(p, e, WORD("credential"), best);
    case 's':
        return word_start(p, e, WORD("credentials"), best);
    case 'y':
        /* apikey, and NAME[_.-]?key */
        if (!ends_with_ci(p, e, WORD("key"))) {
            return HINT_NONE;
        }
        k = e - 3;
        for (i = 0; i < SR_ARRAY_SIZE(keyed); i++) {
            best = word_start(p, k, keyed[i].w, keyed[i].n, best);
            if (k > 0 && (p[k - 1] == '_' || p[k - 1] == '.' || p[k - 1] == '-')) {
                best = word_start(p, k - 1, keyed[i].w, keyed[i].n, best);
            }
        }
        return best;
    default:
        return HINT_NONE;
    }
#undef WORD
}

/*
 * password_kv: SECRET_KEYS (?:\\?["'])? \s* (?::|=>?) ... with nothing
 * before the key word. A match at s has a key word at s, ending at e,
 * then an optional quote (after an optional backslash), white space and
 * a ':' or '=' at d; none of those bytes is ':' or '=', so d is the first
 * delimiter after s, and e is found from d alone: back over white space,
 * over one quote and one backslash before it (key words end in a
 * letter). So: for each delimiter at or after start, in order, the key
 * words that end at its e give the candidates; the smallest at or after
 * start is the answer. Every match starting before a delimiter d uses d,
 * so no candidate of a later delimiter comes before one of d. Elsewhere
 * PCRE2 fails within the key word, or at the byte after it (\s* is
 * possessive there, followed by a delimiter \s lacks).
 */
static size_t hint_password_kv(const unsigned char *p, size_t n, size_t start)
{
    size_t d = start, e, c;

    while ((d = next_delim(p, n, d)) < n) {
        e = d;
        while (e > start && is_pcre_space(p[e - 1])) {
            e--;
        }
        if (e > start && (p[e - 1] == '"' || p[e - 1] == '\'')) {
            e--;
            if (e > start && p[e - 1] == '\\') {
                e--;
            }
        }
        c = secret_key_start(p, e);
        if (c != HINT_NONE && c >= start) {
            return c;
        }
        d++;
    }
    return HINT_NONE;
}

/* ---- the built-in library ------------------------------------------ */

typedef struct builtin_s {
    const char *name;
    const char *pattern;     /* byte mode (no UTF) */
    const char *replacement; /* default replacement */
    const char *sd_names;    /* NULL, or SD-PARAM names whose whole value is secret */
    hint_fn hint;            /* NULL, or where a match may begin (see above) */
    decide_fn decide;        /* NULL, or whether one does (with a hint; see above) */
} builtin_t;

#define OCTET "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#define IPV4 "(?:" OCTET "\\.){3}" OCTET
#define H16 "[0-9A-Fa-f]{1,4}"
#define SECRET_KEYS                                                                                \
    "(?i:password|passwd|passphrase|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|"         \
    "secret[_.-]?key|private[_.-]?key|credentials?)"
#define AWS_SECRET_KEY "(?i:(?:aws[_.-]?)?secret[_.-]?(?:access[_.-]?)?key)"

static const builtin_t builtins[] = {
    /* 13 to 19 digits, single spaces or dashes between them, not part of
     * a longer number or a decimal; the callout keeps only Luhn-valid
     * candidates (and makes the engine try shorter ones). */
    {"credit_card", "(?<![0-9])(?<![0-9]\\.)[0-9](?:[ -]?[0-9]){12,18}(?![0-9]|\\.[0-9])(?C1)",
     "[REDACTED-CARD]", NULL, hint_credit_card, decide_credit_card},
    /* local@domain.tld, the domain with at least one dot and a TLD of two
     * or more ASCII letters; the look-behind makes each run of local-part
     * characters start one attempt only (linear time). */
    {"email",
     "(?<![A-Za-z0-9._%+\\x80-\\xff-])[A-Za-z0-9._%+\\x80-\\xff-]+@"
     "(?:[A-Za-z0-9\\x80-\\xff](?:[A-Za-z0-9\\x80-\\xff-]{0,61}[A-Za-z0-9\\x80-\\xff])?\\.)+"
     "[A-Za-z]{2,63}",
     "[REDACTED-EMAIL]", NULL, hint_email, decide_email},
    /* Dotted quad with octets 0-255, not inside a longer dotted run
     * ("1.2.3.4.5") or a word ("v1.2.3.4"). */
    {"ipv4", "(?<![A-Za-z0-9_.])" IPV4 "(?![A-Za-z0-9_]|\\.[0-9])", "[REDACTED-IPV4]", NULL,
     hint_ipv4, NULL},
    /* Full, compressed (at least one group beside "::") and IPv4-embedded
     * forms, with an optional zone; never a bare "::", a MAC address or
     * a time of day. */
    {"ipv6",
     "(?<![A-Za-z0-9_:.])(?=[0-9A-Fa-f]{0,4}:)(?:"
     "(?:" H16 ":){6}" IPV4 "|(?:(?:" H16 ":){0,5}" H16 ")?::(?:" H16 ":){0,5}" IPV4 "|(?:" H16
     ":){7}" H16 "|(?:" H16 ":){0,6}" H16 "::(?:" H16 "(?::" H16 "){0,6})?"
     "|::" H16 "(?::" H16 "){0,6}"
     ")(?:%[A-Za-z0-9_.]+)?(?![A-Za-z0-9_:]|\\.[0-9])",
     "[REDACTED-IPV6]", NULL, hint_ipv6, NULL},
    {"aws_access_key_id", "(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])",
     "[REDACTED-AWS-KEY-ID]", NULL, NULL, NULL},
    /* 40 base64 characters only right after a secret-key name and = or :
     * (a bare 40-character string is left alone: it is as likely a SHA-1). */
    {"aws_secret_access_key",
     "((?<![A-Za-z0-9])" AWS_SECRET_KEY "(?:\\\\?[\"'])?\\s*(?::|=>?)\\s*(?:\\\\?[\"'])?)"
     "[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
     "${1}[REDACTED]", "^" AWS_SECRET_KEY "$", NULL, NULL},
    /* "Bearer " and a token68 of 8+ characters with at least one
     * non-letter, or 20+ letters (so "the bearer of" is left alone). */
    {"bearer_token",
     "(?<![A-Za-z0-9_-])((?i:bearer)\\s+)"
     "(?:(?=[A-Za-z]*[0-9._~+/-])[A-Za-z0-9._~+/-]{8,}|[A-Za-z]{20,})=*",
     "${1}[REDACTED]", NULL, NULL, NULL},
    /* JWS (three parts) or JWE (five), header starting eyJ ('{"'). */
    {"jwt", "(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}(?:\\.[A-Za-z0-9_-]*){2,4}", "[REDACTED-JWT]",
     NULL, NULL, NULL},
    /* KEY=VALUE, KEY: VALUE, "KEY":"VALUE", KEY => 'VALUE', \"KEY\":\"VALUE\"
     * where KEY ends with a secret-ish word; the key and quotes stay. The
     * match starts at that word (whatever precedes it stays as it is),
     * which lets PCRE2 skip ahead to candidate first letters. */
    {"password_kv",
     "(" SECRET_KEYS "(?:\\\\?[\"'])?\\s*(?::|=>?)\\s*(\\\\?[\"']|))"
     "(?!\\[REDACTED\\])(?:(?<=\\\\[\"'])[^\"'\\\\\\r\\n]++"
     "|(?<=\")(?:[^\"\\\\\\r\\n]|\\\\.)++"
     "|(?<=')[^'\\r\\n]++"
     "|(?<![\"'])(?:[^\\s,;&\"'}\\]\\\\]|\\\\(?![\"']))++)",
     "${1}[REDACTED]", "^[A-Za-z0-9_.-]*?" SECRET_KEYS "$", hint_password_kv, NULL},
};

const char *const sr_redact_builtin_names[] = {
    "credit_card",           "email",        "ipv4", "ipv6",        "aws_access_key_id",
    "aws_secret_access_key", "bearer_token", "jwt",  "password_kv", NULL,
};

/* ---- compiled rules ------------------------------------------------ */

/* One piece of a replacement: literal text, or a capture group. */
typedef struct repl_part_s {
    int group; /* -1: literal lit[off..off+len) */
    uint32_t off;
    uint32_t len;
} repl_part_t;

typedef struct rule_s {
    char *name;
    pcre2_code *code;
    pcre2_code *anchored;     /* built-ins with a hint: code again, PCRE2_ANCHORED */
    hint_fn hint;             /* with anchored; NULL: plain unanchored search */
    decide_fn decide;         /* NULL, or with hint: PCRE2's answer at a candidate */
    bool anchored_jit;        /* anchored has JIT code: pcre2_jit_match() */
    pcre2_code *sd_name_code; /* built-ins: names of SD params that are secrets */
    char *lit;                /* the replacement's literal text */
    repl_part_t *parts;
    size_t n_parts;
    unsigned fields; /* FIELD_* bits */
    bool *inputs;    /* [n_inputs]; NULL: every input */
    size_t n_inputs;
    uint32_t match_limit;
    uint32_t depth_limit;
    sr_metric_t *m_redactions;
    sr_metric_t *m_failures;
} rule_t;

struct sr_redactor_s {
    rule_t *rules;
    size_t n_rules;
    uint32_t ovec_pairs; /* enough for the rule with most groups */
    bool message_is_all; /* every rule covers the message field */
};

/* What redaction did to one field of the current record. */
typedef struct field_res_s {
    bool changed;
    uint32_t off; /* in scratch->store */
    uint32_t len;
} field_res_t;

/* Redactions of one rule counted in a scratch, not yet added to the
 * rule's metric. */
typedef struct pending_s {
    sr_metric_t *m;
    int64_t n;
} pending_t;

struct sr_redact_scratch_s {
    pcre2_match_data *md;
    PCRE2_SIZE ov[2]; /* a decider's match */
    uint32_t md_pairs;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    sr_buf_t a, b;  /* the field between rules, ping-pong */
    sr_buf_t unesc; /* an SD value without its escapes */
    sr_buf_t store; /* changed fields of the current record */
    sr_buf_t text;  /* the record's new text, before it is copied in */
    field_res_t *res;
    size_t res_cap;
    sr_ratelimit_t rl; /* failure log lines of this thread */
    bool no_hints;     /* tests and benchmarks: the plain search only */
    pending_t *pend;   /* redactions not yet in the metric, per rule index */
    size_t pend_cap;
};

/* ---- config -------------------------------------------------------- */

typedef struct rule_conf_s {
    char *name;
    char *pattern;
    char *builtin;
    char *replacement;
    sr_strlist_t fields;
    sr_strlist_t inputs;
    int64_t match_limit;
    int64_t depth_limit;
} rule_conf_t;

const sr_cfg_key_t sr_redact_rule_keys[] = {
    {"name", SR_CFG_STRING, NULL, 0, 0, offsetof(rule_conf_t, name), NULL, NULL, 0,
     "The rule's name in metrics and messages; required with pattern, defaults to the "
     "builtin's name; unique."},
    {"pattern", SR_CFG_STRING, NULL, 0, 0, offsetof(rule_conf_t, pattern), NULL, NULL, 0,
     "A PCRE2 pattern (UTF-8); every match is replaced. Exclusive with builtin."},
    {"builtin", SR_CFG_STRING, NULL, 0, 0, offsetof(rule_conf_t, builtin), NULL, NULL, 0,
     "A rule of the built-in library by name (docs/redaction.md). Exclusive with pattern."},
    {"replacement", SR_CFG_STRING, NULL, 0, 0, offsetof(rule_conf_t, replacement), NULL, NULL, 0,
     "What replaces each match; $1, ${1}, ${name} insert a capture group, $$ a dollar. "
     "Default \"[REDACTED]\", or the builtin's own."},
    {"fields", SR_CFG_STRLIST, NULL, 0, 0, offsetof(rule_conf_t, fields), NULL, NULL, 0,
     "Fields the rule applies to: message, structured_data, hostname, app_name (default "
     "message and structured_data). The raw line always gets every rule."},
    {"inputs", SR_CFG_STRLIST, NULL, 0, 0, offsetof(rule_conf_t, inputs), NULL, NULL, 0,
     "Names of the inputs whose records the rule applies to (default: all)."},
    {"match_limit", SR_CFG_INT, DEFAULT_MATCH_LIMIT, 1, 1000000000,
     offsetof(rule_conf_t, match_limit), NULL, NULL, 0,
     "PCRE2 match limit per match attempt; hitting it fails closed."},
    {"depth_limit", SR_CFG_INT, DEFAULT_DEPTH_LIMIT, 1, 1000000000,
     offsetof(rule_conf_t, depth_limit), NULL, NULL, 0,
     "PCRE2 backtracking depth limit per match attempt (interpreter only; JIT uses a "
     "1 MiB stack); hitting it fails closed."},
    {NULL},
};

static const builtin_t *find_builtin(const char *name)
{
    size_t i;

    for (i = 0; i < SR_ARRAY_SIZE(builtins); i++) {
        if (strcmp(builtins[i].name, name) == 0) {
            return &builtins[i];
        }
    }
    return NULL;
}

static void join_list(sr_buf_t *b, const char *const *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        sr_buf_printf(b, "%s%s", i ? ", " : "", v[i]);
    }
    sr_buf_putc(b, '\0');
}

static void rule_free(rule_t *ru)
{
    sr_free(ru->name);
    pcre2_code_free(ru->code);
    pcre2_code_free(ru->anchored);
    pcre2_code_free(ru->sd_name_code);
    sr_free(ru->lit);
    sr_free(ru->parts);
    sr_free(ru->inputs);
}

/*
 * Parse a replacement into parts: literals, and $N / ${N} / ${name}
 * groups of `code` ($$ is a dollar). Returns NULL, or a static-ish
 * message about the first problem (written to err).
 */
static const char *parse_replacement(rule_t *ru, const char *text, const pcre2_code *code,
                                     char *err, size_t errlen)
{
    uint32_t n_groups = 0;
    size_t i = 0, n = strlen(text), lit_start;
    sr_buf_t lit;
    repl_part_t *parts = NULL;
    size_t n_parts = 0;
    long g;
    int rc;
    char name[128];
    const char *end;

    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n_groups);
    sr_buf_init(&lit);
    sr_buf_reserve(&lit, n + 1);
    err[0] = '\0';
    while (i < n) {
        lit_start = lit.len;
        while (i < n && !(text[i] == '$' && !(i + 1 < n && text[i + 1] == '$'))) {
            sr_buf_putc(&lit, text[i]);
            i += text[i] == '$' ? 2 : 1; /* "$$" is one dollar */
        }
        if (lit.len > lit_start) {
            parts = sr_realloc(parts, (n_parts + 1) * sizeof(*parts));
            parts[n_parts++] =
                (repl_part_t){-1, (uint32_t)lit_start, (uint32_t)(lit.len - lit_start)};
        }
        if (i >= n) {
            break;
        }
        i++; /* the '$' */
        if (i < n && text[i] >= '0' && text[i] <= '9') {
            g = 0;
            while (i < n && text[i] >= '0' && text[i] <= '9' && g < 100000) {
                g = g * 10 + (text[i++] - '0');
            }
        } else if (i < n && text[i] == '{') {
            end = memchr(text + i, '}', n - i);
            if (end == NULL) {
                snprintf(err, errlen, "\"${\" without a closing \"}\" at offset %zu", i - 1);
                break;
            }
            if ((size_t)(end - text - i - 1) >= sizeof(name) || end == text + i + 1) {
                snprintf(err, errlen, "bad group reference at offset %zu", i - 1);
                break;
            }
            memcpy(name, text + i + 1, (size_t)(end - text - i - 1));
            name[end - text - i - 1] = '\0';
            i = (size_t)(end - text) + 1;
            if (strspn(name, "0123456789") == strlen(name)) {
                g = strlen(name) > 6 ? 1000000 : strtol(name, NULL, 10);
            } else {
                rc = pcre2_substring_number_from_name(code, (PCRE2_SPTR)name);
                if (rc < 0) {
                    snprintf(err, errlen, "the pattern has no group named '%s'", name);
                    break;
                }
                g = rc;
            }
        } else {
            snprintf(err, errlen,
                     "'$' at offset %zu must be followed by a group number, {name} or $", i - 1);
            break;
        }
        if (g > (long)n_groups) {
            snprintf(err, errlen, "group %ld is referenced, but the pattern has %u", g, n_groups);
            break;
        }
        parts = sr_realloc(parts, (n_parts + 1) * sizeof(*parts));
        parts[n_parts++] = (repl_part_t){(int)g, 0, 0};
    }
    if (err[0] != '\0') {
        sr_free(parts);
        sr_buf_free(&lit);
        return err;
    }
    sr_buf_putc(&lit, '\0');
    ru->lit = lit.base;
    ru->parts = parts;
    ru->n_parts = n_parts;
    return NULL;
}

static pcre2_code *compile(const char *pattern, uint32_t options, int *errcode, size_t *erroff)
{
    pcre2_code *code;
    PCRE2_SIZE off = 0;

    code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options, errcode, &off, NULL);
    *erroff = off;
    if (code != NULL) {
        /* Without JIT (unsupported platform) the interpreter runs, under
         * the same limits. */
        (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    }
    return code;
}

/* Load one rule from a mapping; errors to ctx. Fills ru (partly, on error). */
static void load_rule(sr_cfg_ctx_t *ctx, const sr_node_t *item, size_t idx,
                      char *const *input_names, size_t n_inputs, sr_redactor_t *r, rule_t *ru)
{
    rule_conf_t rc;
    char what[48], label[200], err[256];
    const char *name, *why;
    const builtin_t *bi = NULL;
    const sr_node_t *n_pat, *n_bi, *n_name, *n_fields, *n_in, *n_repl, *at;
    size_t i, j, before = ctx->n_errors;
    int errcode;
    size_t erroff;
    uint32_t groups = 0;
    size_t jit_size = 0;
    sr_buf_t b;

    memset(&rc, 0, sizeof(rc));
    snprintf(what, sizeof(what), "redact[%zu]", idx);
    sr_cfg_apply(ctx, what, sr_redact_rule_keys, item, &rc, NULL);
    if (item == NULL || item->kind != SR_NODE_MAP) {
        goto done;
    }
    n_pat = sr_node_get(item, "pattern");
    n_bi = sr_node_get(item, "builtin");
    n_name = sr_node_get(item, "name");
    n_fields = sr_node_get(item, "fields");
    n_in = sr_node_get(item, "inputs");
    n_repl = sr_node_get(item, "replacement");

    name = rc.name ? rc.name : rc.builtin;
    if (name != NULL) {
        snprintf(label, sizeof(label), "redact rule \"%s\"", name);
    } else {
        snprintf(label, sizeof(label), "%s", what);
    }
    if (rc.pattern != NULL && rc.builtin != NULL) {
        sr_cfg_error(ctx, n_bi, "%s: pattern and builtin exclude each other; use one", label);
    } else if (rc.pattern == NULL && rc.builtin == NULL) {
        if (ctx->n_errors == before) {
            sr_cfg_error(ctx, item, "%s: needs a pattern or a builtin", label);
        }
    } else if (rc.builtin != NULL) {
        bi = find_builtin(rc.builtin);
        if (bi == NULL) {
            sr_buf_init(&b);
            join_list(&b, sr_redact_builtin_names, SR_ARRAY_SIZE(sr_redact_builtin_names) - 1);
            sr_cfg_error(ctx, n_bi, "%s: unknown builtin '%s'; expected one of: %s", what,
                         rc.builtin, b.base);
            sr_buf_free(&b);
        }
    } else if (rc.name == NULL) {
        sr_cfg_error(ctx, item, "%s: a rule with a pattern needs a name", what);
    }
    if (rc.name != NULL && rc.name[0] == '\0') {
        sr_cfg_error(ctx, n_name, "%s: name must not be empty", what);
    }
    if (name != NULL) {
        for (i = 0; i < idx; i++) {
            if (r->rules[i].name != NULL && strcmp(r->rules[i].name, name) == 0) {
                sr_cfg_error(ctx, n_name ? n_name : n_bi,
                             "%s: the name is already used by redact[%zu]; give one of them "
                             "another name",
                             label, i);
                break;
            }
        }
        ru->name = sr_strdup(name);
    }

    /* fields */
    ru->fields = FIELD_MESSAGE | FIELD_SD;
    if (n_fields != NULL && n_fields->kind == SR_NODE_SEQ) {
        if (n_fields->n == 0) {
            sr_cfg_error(ctx, n_fields,
                         "%s: fields must not be empty; expected some of: message, "
                         "structured_data, hostname, app_name",
                         label);
        }
        ru->fields = 0;
        for (i = 0; i < rc.fields.n; i++) {
            for (j = 0; field_names[j] != NULL; j++) {
                if (strcmp(rc.fields.v[i], field_names[j]) == 0) {
                    ru->fields |= 1u << j;
                    break;
                }
            }
            if (field_names[j] == NULL) {
                at = i < n_fields->n ? n_fields->items[i] : n_fields;
                sr_cfg_error(ctx, at,
                             "%s: unknown field '%s'; expected message, structured_data, "
                             "hostname or app_name",
                             label, rc.fields.v[i]);
            }
        }
    }

    /* inputs */
    if (n_in != NULL && n_in->kind == SR_NODE_SEQ && rc.inputs.n > 0) {
        ru->inputs = sr_calloc(n_inputs ? n_inputs : 1, sizeof(bool));
        ru->n_inputs = n_inputs;
        for (i = 0; i < rc.inputs.n; i++) {
            for (j = 0; j < n_inputs; j++) {
                if (input_names[j] != NULL && strcmp(rc.inputs.v[i], input_names[j]) == 0) {
                    ru->inputs[j] = true;
                    break;
                }
            }
            if (j == n_inputs) {
                sr_buf_init(&b);
                join_list(&b, (const char *const *)input_names, n_inputs);
                at = i < n_in->n ? n_in->items[i] : n_in;
                sr_cfg_error(ctx, at, "%s: unknown input '%s'; configured inputs: %s", label,
                             rc.inputs.v[i], n_inputs ? b.base : "(none)");
                sr_buf_free(&b);
            }
        }
    } else if (n_in != NULL && n_in->kind == SR_NODE_SEQ) {
        sr_cfg_error(ctx, n_in, "%s: inputs must not be empty (leave it out for all inputs)",
                     label);
    }

    /* pattern */
    if (rc.pattern != NULL && rc.builtin == NULL) {
        ru->code = compile(rc.pattern, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &errcode, &erroff);
        if (ru->code == NULL) {
            pcre2_get_error_message(errcode, (PCRE2_UCHAR *)err, sizeof(err));
            sr_cfg_error(ctx, n_pat, "%s: pattern does not compile at offset %zu: %s", label,
                         erroff, err);
        }
    } else if (bi != NULL) {
        ru->code = compile(bi->pattern, 0, &errcode, &erroff);
        ru->sd_name_code = bi->sd_names ? compile(bi->sd_names, 0, &errcode, &erroff) : NULL;
        if (bi->hint != NULL && rc.match_limit >= HINT_MIN_LIMIT &&
            rc.depth_limit >= HINT_MIN_LIMIT) {
            /* PCRE2's JIT ignores PCRE2_ANCHORED as a match option (the
             * interpreter would run), hence a compiled anchored copy.
             * Without its start-up optimizations: they cache nothing
             * between calls, so each call would search afresh for the
             * code unit every match needs ('.' for email), up to
             * thousands of bytes ahead, and "a@a@a@..." took 90 ms per
             * 64 KiB instead of 1. They only ever skip attempts that
             * cannot match, and each hint already checks what they
             * would (see the hints), so results do not change. */
            ru->anchored =
                compile(bi->pattern, PCRE2_ANCHORED | PCRE2_NO_START_OPTIMIZE, &errcode, &erroff);
            ru->hint = bi->hint;
            ru->decide = bi->decide;
            pcre2_pattern_info(ru->anchored, PCRE2_INFO_JITSIZE, &jit_size);
            ru->anchored_jit = jit_size > 0;
        }
        if (ru->code == NULL || (bi->sd_names != NULL && ru->sd_name_code == NULL) ||
            (ru->hint != NULL && ru->anchored == NULL)) {
            sr_cfg_error(ctx, n_bi, "%s: built-in pattern does not compile (a bug)", label);
        }
    }

    /* replacement */
    if (ru->code != NULL) {
        why = parse_replacement(ru,
                                rc.replacement ? rc.replacement
                                : bi           ? bi->replacement
                                               : "[REDACTED]",
                                ru->code, err, sizeof(err));
        if (why != NULL) {
            sr_cfg_error(ctx, n_repl ? n_repl : item, "%s: replacement: %s", label, why);
        }
        pcre2_pattern_info(ru->code, PCRE2_INFO_CAPTURECOUNT, &groups);
        if (groups + 1 > r->ovec_pairs) {
            r->ovec_pairs = groups + 1;
        }
    }
    ru->match_limit = (uint32_t)rc.match_limit;
    ru->depth_limit = (uint32_t)rc.depth_limit;
    if (ctx->n_errors == before && ru->name != NULL) {
        ru->m_redactions = sr_metric(SR_M_REDACTIONS, ru->name);
        ru->m_failures = sr_metric(SR_M_REDACTION_FAILURES, ru->name);
    }
done:
    sr_cfg_release(sr_redact_rule_keys, &rc);
}

int sr_redactor_load(sr_cfg_ctx_t *ctx, const sr_node_t *seq, char *const *input_names,
                     size_t n_inputs, sr_redactor_t **out)
{
    sr_redactor_t *r;
    size_t i, before = ctx->n_errors;
    uint32_t jit = 0;

    *out = NULL;
    if (seq == NULL || sr_node_is_null(seq)) {
        return 0;
    }
    if (seq->kind != SR_NODE_SEQ) {
        sr_cfg_error(ctx, seq, "redact: expected a list of rules, not %s",
                     seq->kind == SR_NODE_MAP ? "a mapping" : "a scalar");
        return SR_ECONFIG;
    }
    if (seq->n == 0) {
        return 0;
    }
    sr_metrics_init(); /* idempotent; --check may load before the relay starts */
    r = sr_calloc(1, sizeof(*r));
    r->rules = sr_calloc(seq->n, sizeof(*r->rules));
    r->n_rules = seq->n;
    r->ovec_pairs = 1;
    r->message_is_all = true;
    for (i = 0; i < seq->n; i++) {
        load_rule(ctx, seq->items[i], i, input_names, n_inputs, r, &r->rules[i]);
        if (!(r->rules[i].fields & FIELD_MESSAGE)) {
            r->message_is_all = false;
        }
    }
    if (ctx->n_errors != before) {
        sr_redactor_free(r);
        return SR_ECONFIG;
    }
    pcre2_config(PCRE2_CONFIG_JIT, &jit);
    sr_debug("redact: %zu rules loaded%s", r->n_rules,
             jit ? ", JIT-compiled" : "; PCRE2 has no JIT here, using the interpreter");
    *out = r;
    return 0;
}

void sr_redactor_free(sr_redactor_t *r)
{
    size_t i;

    if (r == NULL) {
        return;
    }
    for (i = 0; i < r->n_rules; i++) {
        rule_free(&r->rules[i]);
    }
    sr_free(r->rules);
    sr_free(r);
}

/* ---- scratch ------------------------------------------------------- */

/* (?C1): continue only if the digits matched so far pass the Luhn check;
 * otherwise fail here, so the engine backtracks to a shorter candidate. */
static int callout(pcre2_callout_block *cb, void *data)
{
    SR_UNUSED(data);
    if (cb->callout_number != CALLOUT_LUHN) {
        return 0;
    }
    return luhn_ok((const char *)cb->subject + cb->start_match,
                   cb->current_position - cb->start_match)
               ? 0
               : 1;
}

static void scratch_fit(sr_redact_scratch_t *s, uint32_t pairs)
{
    if (s->md != NULL && s->md_pairs >= pairs) {
        return;
    }
    pcre2_match_data_free(s->md);
    s->md = pcre2_match_data_create(pairs, NULL);
    if (s->md == NULL) {
        fprintf(stderr, "error syslog-relay: out of memory for PCRE2 match data; aborting\n");
        abort();
    }
    s->md_pairs = pairs;
}

sr_redact_scratch_t *sr_redact_scratch_create(const sr_redactor_t *r)
{
    sr_redact_scratch_t *s = sr_calloc(1, sizeof(*s));

    scratch_fit(s, r ? r->ovec_pairs : 1);
    s->mctx = pcre2_match_context_create(NULL);
    if (s->mctx == NULL) {
        fprintf(stderr, "error syslog-relay: out of memory for a PCRE2 context; aborting\n");
        abort();
    }
    pcre2_set_callout(s->mctx, callout, NULL);
    s->jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
    if (s->jit_stack != NULL) {
        pcre2_jit_stack_assign(s->mctx, NULL, s->jit_stack);
    }
    sr_buf_init(&s->a);
    sr_buf_init(&s->b);
    sr_buf_init(&s->unesc);
    sr_buf_init(&s->store);
    sr_buf_init(&s->text);
    return s;
}

void sr_redact_scratch_set_hints(sr_redact_scratch_t *s, bool on)
{
    s->no_hints = !on;
}

void sr_redact_scratch_flush(sr_redact_scratch_t *s)
{
    size_t i;

    for (i = 0; i < s->pend_cap; i++) {
        if (s->pend[i].n != 0) {
            sr_metric_add(s->pend[i].m, s->pend[i].n);
            s->pend[i].n = 0;
        }
    }
}

/* Count n redactions of rule i (metric m) in the scratch. One atomic add
 * per match on a counter that every worker shares made the workers trade
 * its cache line: about 3% of a redacting relay's time. */
static void count_later(sr_redact_scratch_t *s, size_t i, sr_metric_t *m, int64_t n)
{
    if (i >= s->pend_cap) {
        size_t cap = SR_MAX(i + 1, 2 * s->pend_cap);

        s->pend = sr_realloc(s->pend, cap * sizeof(*s->pend));
        memset(s->pend + s->pend_cap, 0, (cap - s->pend_cap) * sizeof(*s->pend));
        s->pend_cap = cap;
    }
    if (s->pend[i].m != m) {
        /* Another redactor's rule at this index. */
        if (s->pend[i].n != 0) {
            sr_metric_add(s->pend[i].m, s->pend[i].n);
        }
        s->pend[i].m = m;
        s->pend[i].n = 0;
    }
    s->pend[i].n += n;
}

void sr_redact_scratch_free(sr_redact_scratch_t *s)
{
    if (s == NULL) {
        return;
    }
    sr_redact_scratch_flush(s);
    sr_free(s->pend);
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mctx);
    pcre2_jit_stack_free(s->jit_stack);
    sr_buf_free(&s->a);
    sr_buf_free(&s->b);
    sr_buf_free(&s->unesc);
    sr_buf_free(&s->store);
    sr_buf_free(&s->text);
    sr_free(s->res);
    sr_free(s);
}

/* ---- matching ------------------------------------------------------ */

/* sr_buf_append() with its common case inline: a few pieces per match. */
static void put(sr_buf_t *out, const char *p, size_t n)
{
    if (n == 0) {
        return;
    }
    if (out->len + n >= out->cap) {
        sr_buf_reserve(out, n);
    }
    memcpy(out->base + out->len, p, n);
    out->len += n;
    out->base[out->len] = '\0';
}

/* Append the rule's replacement for the match in ov (rc from pcre2_match;
 * 0 means no group is set). */
static void expand(const rule_t *ru, const char *subj, int rc, const PCRE2_SIZE *ov, sr_buf_t *out)
{
    size_t i;
    int g;

    for (i = 0; i < ru->n_parts; i++) {
        g = ru->parts[i].group;
        if (g < 0) {
            put(out, ru->lit + ru->parts[i].off, ru->parts[i].len);
        } else if (g < rc && ov[2 * g] != PCRE2_UNSET) {
            put(out, subj + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        }
    }
}

/*
 * The next match of ru in p[0..n) at or after start, as pcre2_match()
 * returns it for the unanchored pattern. With a hint, the anchored copy
 * runs at each candidate in turn: PCRE2's own unanchored search is the
 * same anchored attempt at each offset in turn, and the offsets a hint
 * skips are ones where that attempt fails (quickly: the match limit
 * counts per offset, so skipping cannot change which limit is hit).
 * With JIT code the anchored copy goes straight to pcre2_jit_match(),
 * which is what pcre2_match() calls after checks that cannot fail here
 * (byte mode, no UTF, options the JIT supports); that saves about a
 * sixth of a short match's cost.
 */
static int next_match(const rule_t *ru, sr_redact_scratch_t *s, const char *p, size_t n,
                      size_t start, const PCRE2_SIZE **ov)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t end;
    int rc;

    *ov = pcre2_get_ovector_pointer(s->md);
    if (ru->hint == NULL || s->no_hints) {
        return pcre2_match(ru->code, (PCRE2_SPTR)p, n, start, PCRE2_NOTEMPTY, s->md, s->mctx);
    }
    for (;;) {
        start = ru->hint(u, n, start);
        if (start > n) {
            return PCRE2_ERROR_NOMATCH;
        }
        end = ru->decide != NULL ? ru->decide(u, n, start) : DECIDE_PCRE;
        if (end == DECIDE_PCRE) {
            rc = ru->anchored_jit ? pcre2_jit_match(ru->anchored, (PCRE2_SPTR)p, n, start,
                                                    PCRE2_NOTEMPTY, s->md, s->mctx)
                                  : pcre2_match(ru->anchored, (PCRE2_SPTR)p, n, start,
                                                PCRE2_NOTEMPTY, s->md, s->mctx);
            if (rc != PCRE2_ERROR_NOMATCH) {
                return rc;
            }
        } else if (end != HINT_NONE) {
            s->ov[0] = start;
            s->ov[1] = end;
            *ov = s->ov;
            return 1; /* group 0 only: the built-ins with deciders have no groups */
        }
        start++;
    }
}

/*
 * Replace every match of one rule in p[0..n). When something matched,
 * out is reset and holds the result. Returns the number of replacements
 * (0: out untouched), or a negative PCRE2 error (the caller fails closed).
 */
static int apply_rule(const rule_t *ru, sr_redact_scratch_t *s, const char *p, size_t n,
                      sr_buf_t *out)
{
    PCRE2_SIZE start = 0, last = 0;
    const PCRE2_SIZE *ov;
    int rc, count = 0;

    pcre2_set_match_limit(s->mctx, ru->match_limit);
    pcre2_set_depth_limit(s->mctx, ru->depth_limit);
    while (start <= n) {
        rc = next_match(ru, s, p, n, start, &ov);
        if (rc == PCRE2_ERROR_NOMATCH) {
            break;
        }
        if (rc <= 0) {
            return rc < 0 ? rc : PCRE2_ERROR_INTERNAL;
        }
        if (ov[1] <= ov[0] || ov[0] < last) {
            /* Only \K tricks get here; an empty "match" masks nothing, and
             * we step over one character to make progress. */
            start = ov[1] > start ? ov[1] : start + 1;
            while (start < n && ((unsigned char)p[start] & 0xc0) == 0x80) {
                start++;
            }
            continue;
        }
        if (count == 0) {
            sr_buf_reset(out);
            sr_buf_reserve(out, n + 64);
        }
        put(out, p + last, ov[0] - last);
        expand(ru, p, rc, ov, out);
        last = start = ov[1];
        count++;
    }
    if (count > 0) {
        put(out, p + last, n - last);
    }
    return count;
}

/* True if the SD-PARAM name marks its value as a secret for this rule;
 * a negative PCRE2 error if matching failed. */
static int sd_name_secret(const rule_t *ru, sr_redact_scratch_t *s, const char *name, size_t len)
{
    int rc;

    if (ru->sd_name_code == NULL || name == NULL) {
        return 0;
    }
    pcre2_set_match_limit(s->mctx, ru->match_limit);
    pcre2_set_depth_limit(s->mctx, ru->depth_limit);
    rc = pcre2_match(ru->sd_name_code, (PCRE2_SPTR)name, len, 0, 0, s->md, s->mctx);
    if (rc == PCRE2_ERROR_NOMATCH) {
        return 0;
    }
    return rc < 0 ? rc : 1;
}

static bool rule_covers(const rule_t *ru, unsigned field, int input_id)
{
    if (field != FIELD_ANY && !(ru->fields & field)) {
        return false;
    }
    if (ru->inputs != NULL && input_id >= 0) {
        return (size_t)input_id < ru->n_inputs && ru->inputs[input_id];
    }
    return true;
}

static const char *field_label(unsigned field)
{
    switch (field) {
    case FIELD_MESSAGE:
        return "message";
    case FIELD_SD:
        return "structured-data";
    case FIELD_HOSTNAME:
        return "hostname";
    case FIELD_APP_NAME:
        return "app_name";
    default:
        return "raw";
    }
}

/*
 * Run every rule that covers (field, input) over p[0..n) in order, each
 * on the previous one's output. sd_name is the SD-PARAM name for FIELD_SD
 * (else NULL). *res / *res_len get the result: p itself when nothing
 * changed, else scratch memory valid until the next call, or the failure
 * marker. Returns replacements made; *changed says whether the text
 * differs (a failure changes it too).
 */
static int redact_text(const sr_redactor_t *r, sr_redact_scratch_t *s, unsigned field, int input_id,
                       const char *input_name, const char *sd_name, size_t sd_name_len,
                       const char *p, size_t n, const char **res, size_t *res_len, bool *changed)
{
    const char *cur = p;
    size_t curn = n, i;
    sr_buf_t *dst;
    const rule_t *ru;
    int rc, total = 0;
    char why[128];

    *changed = false;
    for (i = 0; i < r->n_rules; i++) {
        ru = &r->rules[i];
        if (!rule_covers(ru, field, input_id)) {
            continue;
        }
        dst = cur == s->a.base ? &s->b : &s->a;
        rc = field == FIELD_SD ? sd_name_secret(ru, s, sd_name, sd_name_len) : 0;
        if (rc > 0) {
            sr_buf_reset(dst);
            expand(ru, NULL, 0, NULL, dst);
        } else if (rc == 0) {
            rc = apply_rule(ru, s, cur, curn, dst);
        }
        if (rc < 0) {
            pcre2_get_error_message(rc, (PCRE2_UCHAR *)why, sizeof(why));
            sr_metric_add(ru->m_failures, 1);
            sr_log_limited(&s->rl, SR_LOG_WARNING,
                           "redact rule \"%s\": %s in a %s field of input \"%s\"; the field "
                           "is replaced by " SR_REDACT_FAILED_MARKER,
                           ru->name, why, field_label(field), input_name ? input_name : "");
            *res = SR_REDACT_FAILED_MARKER;
            *res_len = sizeof(SR_REDACT_FAILED_MARKER) - 1;
            *changed = true;
            return total;
        }
        if (rc > 0) {
            count_later(s, i, ru->m_redactions, rc);
            total += rc;
            cur = dst->base;
            curn = dst->len;
            *changed = true;
        }
    }
    *res = cur;
    *res_len = curn;
    return total;
}

int sr_redact_string(const sr_redactor_t *r, sr_redact_scratch_t *s, const char *p, size_t n,
                     sr_buf_t *out)
{
    sr_redact_scratch_t *tmp = NULL;
    const char *res;
    size_t len;
    bool changed;
    int total;

    if (r == NULL || r->n_rules == 0) {
        put(out, p, n);
        return 0;
    }
    if (s == NULL) {
        s = tmp = sr_redact_scratch_create(r);
    }
    scratch_fit(s, r->ovec_pairs);
    total = redact_text(r, s, FIELD_ANY, -1, "", NULL, 0, p, n, &res, &len, &changed);
    put(out, res, len);
    sr_redact_scratch_free(tmp);
    return total;
}

/* ---- records ------------------------------------------------------- */

/* Escape an SD-PARAM value (", \ and ] get a backslash) into out. */
static void sd_escape(sr_buf_t *out, const char *p, size_t n)
{
    size_t i, start = 0;

    for (i = 0; i < n; i++) {
        if (p[i] == '"' || p[i] == '\\' || p[i] == ']') {
            put(out, p + start, i - start);
            sr_buf_putc(out, '\\');
            start = i;
        }
    }
    put(out, p + start, n - start);
}

/* Redact one slice of the record into res (stored in s->store if changed). */
static int redact_slice(const sr_redactor_t *r, sr_redact_scratch_t *s, const sr_record_t *rec,
                        unsigned field, sr_slice_t sl, field_res_t *fr)
{
    const char *res;
    size_t len;
    bool changed;
    int total;

    fr->changed = false;
    if (!sr_slice_present(sl)) {
        return 0;
    }
    total = redact_text(r, s, field, rec->input_id, rec->input_name, NULL, 0,
                        sr_record_ptr(rec, sl), sl.len, &res, &len, &changed);
    if (changed) {
        fr->changed = true;
        fr->off = (uint32_t)s->store.len;
        fr->len = (uint32_t)len;
        put(&s->store, res, len);
    }
    return total;
}

/* An SD value is kept escaped in the record: rules see it unescaped, and
 * a changed value is escaped again. */
static int redact_sd_value(const sr_redactor_t *r, sr_redact_scratch_t *s, const sr_record_t *rec,
                           const sr_sd_param_t *prm, field_res_t *fr)
{
    const char *v, *res, *name;
    size_t vlen, len, start;
    bool changed;
    int total;

    fr->changed = false;
    if (!sr_slice_present(prm->value)) {
        return 0;
    }
    v = sr_record_ptr(rec, prm->value);
    vlen = prm->value.len;
    if (memchr(v, '\\', vlen) != NULL) {
        sr_buf_reset(&s->unesc);
        sr_sd_unescape(v, vlen, &s->unesc);
        v = s->unesc.base;
        vlen = s->unesc.len;
    }
    name = sr_slice_present(prm->name) ? sr_record_ptr(rec, prm->name) : NULL;
    total = redact_text(r, s, FIELD_SD, rec->input_id, rec->input_name, name, prm->name.len, v,
                        vlen, &res, &len, &changed);
    if (changed) {
        start = s->store.len;
        sd_escape(&s->store, res, len);
        fr->changed = true;
        fr->off = (uint32_t)start;
        fr->len = (uint32_t)(s->store.len - start);
    }
    return total;
}

static size_t new_len(sr_slice_t sl, const field_res_t *fr)
{
    if (!sr_slice_present(sl)) {
        return 0;
    }
    return fr != NULL && fr->changed ? fr->len : sl.len;
}

/* Copy a slice's (possibly redacted) bytes to text + *pos and re-point it. */
static void place(char *text, uint32_t *pos, const char *old, const char *store, sr_slice_t *sl,
                  const field_res_t *fr)
{
    const char *src;
    uint32_t len;

    if (!sr_slice_present(*sl)) {
        return;
    }
    if (fr != NULL && fr->changed) {
        src = store + fr->off;
        len = fr->len;
    } else {
        src = old + sl->off;
        len = sl->len;
    }
    if (len > 0) {
        memcpy(text + *pos, src, len);
    }
    sl->off = *pos;
    sl->len = len;
    *pos += len;
}

enum { RES_HOSTNAME = 0, RES_APP_NAME, RES_MESSAGE, RES_RAW, RES_SD /* first SD value */ };

/* True if slice sl is absent or ends at or before off. */
static bool ends_by(sr_slice_t sl, uint32_t off)
{
    return !sr_slice_present(sl) || sl.off + sl.len <= off;
}

/*
 * The usual case of a record whose raw line is not kept: the message is
 * the only field that changed, and it ends the text after every other
 * field. Its new bytes then go over the old ones where they lie, when the
 * text has the room, and nothing else moves: no rebuilt text, no copy
 * back. The bytes between the fields (the PRI, spaces, brackets) stay in
 * the text; no slice reaches them, as after a rebuild.
 */
static bool redact_message_in_place(sr_record_t *rec, const char *store, const field_res_t *res)
{
    uint32_t off = rec->message.off;
    size_t i;

    if (sr_slice_present(rec->raw) || !res[RES_MESSAGE].changed || res[RES_HOSTNAME].changed ||
        res[RES_APP_NAME].changed || !sr_slice_present(rec->message) ||
        off + rec->message.len != rec->text_len ||
        (size_t)off + res[RES_MESSAGE].len > rec->text_cap) {
        return false;
    }
    if (!ends_by(rec->timestamp, off) || !ends_by(rec->hostname, off) ||
        !ends_by(rec->app_name, off) || !ends_by(rec->procid, off) || !ends_by(rec->msgid, off)) {
        return false;
    }
    for (i = 0; i < rec->n_sd_elems; i++) {
        if (!ends_by(rec->sd_elems[i].id, off)) {
            return false;
        }
    }
    for (i = 0; i < rec->n_sd_params; i++) {
        if (res[RES_SD + i].changed || !ends_by(rec->sd_params[i].name, off) ||
            !ends_by(rec->sd_params[i].value, off)) {
            return false;
        }
    }
    memcpy(rec->text + off, store + res[RES_MESSAGE].off, res[RES_MESSAGE].len);
    rec->message.len = res[RES_MESSAGE].len;
    rec->text_len = off + res[RES_MESSAGE].len;
    return true;
}

static int redact_record(const sr_redactor_t *r, sr_redact_scratch_t *s, sr_record_t *rec,
                         bool keep_raw)
{
    sr_redact_scratch_t *tmp = NULL;
    field_res_t *res;
    size_t n_res, i, size;
    uint32_t pos = 0;
    bool any = false;
    int total = 0;
    char *text;
    const char *old;

    if (r == NULL || r->n_rules == 0 || rec == NULL) {
        return 0;
    }
    if (s == NULL) {
        s = tmp = sr_redact_scratch_create(r);
    }
    scratch_fit(s, r->ovec_pairs);
    n_res = RES_SD + rec->n_sd_params;
    if (n_res > s->res_cap) {
        s->res = sr_realloc(s->res, n_res * sizeof(*s->res));
        s->res_cap = n_res;
    }
    res = s->res;
    sr_buf_reset(&s->store);

    total += redact_slice(r, s, rec, FIELD_HOSTNAME, rec->hostname, &res[RES_HOSTNAME]);
    total += redact_slice(r, s, rec, FIELD_APP_NAME, rec->app_name, &res[RES_APP_NAME]);
    total += redact_slice(r, s, rec, FIELD_MESSAGE, rec->message, &res[RES_MESSAGE]);
    if (!keep_raw) {
        rec->raw = SR_SLICE_NULL; /* redact_slice() leaves an absent slice unchanged */
    }
    if (r->message_is_all && rec->message.off == rec->raw.off &&
        rec->message.len == rec->raw.len) {
        /* A raw record: its message is the whole line, and every rule
         * covers messages, so the raw result is the message result. */
        res[RES_RAW] = res[RES_MESSAGE];
    } else {
        total += redact_slice(r, s, rec, FIELD_ANY, rec->raw, &res[RES_RAW]);
    }
    for (i = 0; i < rec->n_sd_params; i++) {
        total += redact_sd_value(r, s, rec, &rec->sd_params[i], &res[RES_SD + i]);
    }
    for (i = 0; i < n_res; i++) {
        any = any || res[i].changed;
    }
    if (!any) {
        sr_redact_scratch_free(tmp);
        return total;
    }
    if (redact_message_in_place(rec, s->store.base, res)) {
        rec->flags |= SR_REC_REDACTED;
        sr_redact_scratch_free(tmp);
        return total;
    }

    size = new_len(rec->timestamp, NULL) + new_len(rec->hostname, &res[RES_HOSTNAME]) +
           new_len(rec->app_name, &res[RES_APP_NAME]) + new_len(rec->procid, NULL) +
           new_len(rec->msgid, NULL) + new_len(rec->message, &res[RES_MESSAGE]) +
           new_len(rec->raw, &res[RES_RAW]);
    for (i = 0; i < rec->n_sd_elems; i++) {
        size += new_len(rec->sd_elems[i].id, NULL);
    }
    for (i = 0; i < rec->n_sd_params; i++) {
        size += new_len(rec->sd_params[i].name, NULL) +
                new_len(rec->sd_params[i].value, &res[RES_SD + i]);
    }
    if (size >= UINT32_MAX) {
        /* Cannot happen with any sane max_message_size; never leak if it does. */
        sr_error("redact: a redacted record would exceed 4 GiB; replacing its text");
        sr_record_reset_fields(rec);
        rec->raw = (sr_slice_t){0, sizeof(SR_REDACT_FAILED_MARKER) - 1};
        rec->message = rec->raw;
        sr_record_set_text(rec, SR_REDACT_FAILED_MARKER, rec->raw.len);
        rec->flags |= SR_REC_REDACTED;
        sr_redact_scratch_free(tmp);
        return total;
    }

    sr_buf_reset(&s->text);
    sr_buf_reserve(&s->text, size ? size : 1);
    text = s->text.base;
    old = rec->text;
    place(text, &pos, old, s->store.base, &rec->raw, &res[RES_RAW]);
    place(text, &pos, old, s->store.base, &rec->timestamp, NULL);
    place(text, &pos, old, s->store.base, &rec->hostname, &res[RES_HOSTNAME]);
    place(text, &pos, old, s->store.base, &rec->app_name, &res[RES_APP_NAME]);
    place(text, &pos, old, s->store.base, &rec->procid, NULL);
    place(text, &pos, old, s->store.base, &rec->msgid, NULL);
    for (i = 0; i < rec->n_sd_elems; i++) {
        place(text, &pos, old, s->store.base, &rec->sd_elems[i].id, NULL);
    }
    for (i = 0; i < rec->n_sd_params; i++) {
        place(text, &pos, old, s->store.base, &rec->sd_params[i].name, NULL);
        place(text, &pos, old, s->store.base, &rec->sd_params[i].value, &res[RES_SD + i]);
    }
    place(text, &pos, old, s->store.base, &rec->message, &res[RES_MESSAGE]);
    sr_record_set_text(rec, text, pos);
    rec->flags |= SR_REC_REDACTED;
    sr_redact_scratch_free(tmp);
    return total;
}

int sr_redact_record(const sr_redactor_t *r, sr_redact_scratch_t *s, sr_record_t *rec)
{
    return redact_record(r, s, rec, true);
}

int sr_redact_record_fields(const sr_redactor_t *r, sr_redact_scratch_t *s, sr_record_t *rec)
{
    return redact_record(r, s, rec, false);
}
