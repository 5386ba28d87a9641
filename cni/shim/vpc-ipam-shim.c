/*
 * vpc-ipam CNI shim: what the runtime execs as `type: vpc-ipam` (docs/cni.md "The shim").
 *
 * Why: the Node plugin (the single executable, vpc-ipam-node beside this file) costs ~45 ms of start per exec,
 * twice per Pod; Node's own start is the floor. This program starts in about a millisecond and forwards ADD, DEL
 * and CHECK to ipamd as one `exec` request (cni/contract/protocol.ts); ipamd runs the plugin's own code on them
 * (ipamd/api/plugin-host.ts), so validation, results, errors and logs are the Node plugin's.
 *
 * It validates nothing itself and never touches a path but ipamd's socket: whatever it cannot forward plainly it
 * hands to the Node plugin by execve (same argv, same environment, stdin re-supplied from a memfd):
 * another verb; `ipamdSocket` present but not a plain absolute path; stdin or the request line over 1 MiB; no
 * connection (ipamd down: the Node plugin's DEL tears down offline); a missing, garbled or refused reply (an
 * older ipamd, a test's fake ipamd). A retried ADD is safe: ipamd's ADD is idempotent per attachment.
 * No shell, no PATH lookup, no environment read beyond CNI_*, bounded static buffers, exit status from ipamd.
 *
 * Build: cc -O2 -static (cni/build/shim.ts). -DVPC_IPAM_SHIM_NODE_NAME overrides the fallback's name for tests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef VPC_IPAM_SHIM_NODE_NAME
#define VPC_IPAM_SHIM_NODE_NAME "vpc-ipam-node"
#endif
#define DEFAULT_SOCKET "/run/vpc-ipam/ipamd.sock" /* DEFAULT_SOCKET_PATH */
#define MAX_LINE (1 << 20)                         /* MAX_EXEC_LINE_BYTES: ipamd refuses longer */
#define MAX_STDIN MAX_LINE                         /* escaping only grows it */
#define PLUGIN_MAX_STDIN (4 << 20)                 /* cni/main.ts MAX_STDIN: the fallback copies one byte more */
#define MAX_REPLY (8 << 20)                        /* stdout of a result merged with a 4 MiB prevResult, escaped */

extern char **environ;
static const char *const KEYS[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS",
                                   "CNI_PATH"};
static char in[MAX_STDIN + 1], line[MAX_LINE + 2], reply[MAX_REPLY + 1];
static size_t in_len, line_len;
static int in_read; /* stdin was (partly) consumed: the fallback must re-supply it */

/* Runs the Node plugin in this process's place; returns only if that is impossible. */
static void fallback(char **argv) {
    char self[PATH_MAX], node[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) *slash = 0;
        /* Beside this file, by a fixed name: never PATH, never a name from the environment. */
        int len = slash ? snprintf(node, sizeof node, "%s/%s", self, VPC_IPAM_SHIM_NODE_NAME) : -1;
        if (len > 0 && (size_t)len < sizeof node) {
            if (in_read) { /* what was read, then the rest, up to one byte past the plugin's limit */
                int fd = memfd_create("vpc-ipam-stdin", MFD_CLOEXEC);
                if (fd < 0 || write(fd, in, in_len) != (ssize_t)in_len) return;
                for (size_t total = in_len; total <= PLUGIN_MAX_STDIN;) {
                    ssize_t r = read(0, line, sizeof line);
                    if (r < 0 && errno == EINTR) continue;
                    if (r <= 0 || write(fd, line, (size_t)r) != r) break;
                    total += (size_t)r;
                }
                if (lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, 0) != 0) return;
            }
            argv[0] = node;
            execve(node, argv, environ);
        }
    }
}

/* Fallback impossible: a CNI error object (code 999) is all that is left to say. */
static int fail(char **argv, const char *why) {
    fallback(argv);
    printf("{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"vpc-ipam shim: %s, and %s could not be run\"}\n", why,
           VPC_IPAM_SHIM_NODE_NAME);
    return 1;
}

/* Appends to the request line; 0 once it would pass MAX_LINE (then the Node plugin gets the call). */
static int put(const char *s, size_t n) {
    if (line_len + n > MAX_LINE) return 0;
    memcpy(line + line_len, s, n);
    line_len += n;
    return 1;
}

#define PUTS(lit) put(lit, sizeof lit - 1)

/* A JSON string: `"` and `\` escaped, control bytes as \u00XX, other bytes as they are (UTF-8 passes through). */
static int put_string(const char *s, size_t n) {
    if (!put("\"", 1)) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        int ok = c == '"' || c == '\\' ? put("\\", 1) && put((char *)&c, 1)
                 : c < 0x20            ? put(esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c))
                                       : put((char *)&c, 1);
        if (!ok) return 0;
    }
    return put("\"", 1);
}

/* Skips one JSON value (string, object, array or scalar) from s[*i]; 0 on malformed or empty input. */
static int skip_value(const char *s, size_t n, size_t *i) {
    size_t start = *i;
    int depth = 0;
    while (*i < n) {
        char c = s[*i];
        if (c == '"') {
            for ((*i)++; *i < n && s[*i] != '"'; (*i)++)
                if (s[*i] == '\\') (*i)++;
            if (*i >= n) return 0;
        } else if (c == '{' || c == '[') depth++;
        else if (c == '}' || c == ']') {
            if (depth == 0) break; /* the end of the enclosing object: a scalar ended here */
            depth--;
        } else if (depth == 0 && strchr(", \t\r\n", c)) break;
        (*i)++;
        if (depth == 0 && (c == '"' || c == '}' || c == ']')) break;
    }
    return depth == 0 && *i > start;
}

static size_t skip_ws(const char *s, size_t n, size_t i) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
    return i;
}

/*
 * The raw text of top-level member `key` of the JSON object s[0..n): 1 found (once), 0 absent, -1 anything odd
 * (not an object, malformed, the key twice, or a key with an escape, which could spell `key` in disguise).
 */
static int member(const char *s, size_t n, const char *key, const char **val, size_t *vlen) {
    size_t i = skip_ws(s, n, 0), klen = strlen(key);
    int found = 0;
    if (i >= n || s[i] != '{') return -1;
    i = skip_ws(s, n, i + 1);
    if (i < n && s[i] == '}') return 0;
    for (;;) {
        if (i >= n || s[i] != '"') return -1;
        size_t k0 = ++i;
        while (i < n && s[i] != '"' && s[i] != '\\') i++;
        if (i >= n || s[i] == '\\') return -1;
        int match = i - k0 == klen && memcmp(s + k0, key, klen) == 0;
        i = skip_ws(s, n, i + 1);
        if (i >= n || s[i] != ':') return -1;
        size_t v0 = i = skip_ws(s, n, i + 1);
        if (!skip_value(s, n, &i)) return -1;
        if (match) {
            if (found++) return -1;
            *val = s + v0, *vlen = i - v0;
        }
        i = skip_ws(s, n, i);
        if (i < n && s[i] == '}') return found;
        if (i >= n || s[i] != ',') return -1;
        i = skip_ws(s, n, i + 1);
    }
}

/* Decodes the JSON string v[0..n) into out (may be v itself: the output never overtakes the input). */
static long decode_string(const char *v, size_t n, char *out) {
    if (n < 2 || v[0] != '"' || v[n - 1] != '"') return -1;
    size_t o = 0, end = n - 1;
    for (size_t i = 1; i < end; i++) {
        char c = v[i];
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        if (++i >= end) return -1;
        switch (v[i]) {
        case '"': case '\\': case '/': out[o++] = v[i]; continue;
        case 'b': out[o++] = '\b'; continue;
        case 'f': out[o++] = '\f'; continue;
        case 'n': out[o++] = '\n'; continue;
        case 'r': out[o++] = '\r'; continue;
        case 't': out[o++] = '\t'; continue;
        case 'u': break;
        default: return -1;
        }
        unsigned cp = 0;
        if (i + 4 >= end) return -1;
        for (int k = 1; k <= 4; k++) {
            char h = v[i + k];
            int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            if (d < 0) return -1;
            cp = cp << 4 | (unsigned)d;
        }
        i += 4;
        /* JSON.stringify escapes only control characters and lone surrogates; the plugin's stdout has neither
           kind of surrogate unescaped, so one here is a garbled reply. */
        if (cp >= 0xD800 && cp <= 0xDFFF) return -1;
        if (cp < 0x80) out[o++] = (char)cp;
        else if (cp < 0x800) {
            out[o++] = (char)(0xC0 | cp >> 6);
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (char)(0xE0 | cp >> 12);
            out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return (long)o;
}

int main(int argc, char **argv) {
    (void)argc;
    const char *verb = getenv("CNI_COMMAND");
    if (!verb || (strcmp(verb, "ADD") && strcmp(verb, "DEL") && strcmp(verb, "CHECK")))
        return fail(argv, "not a forwarded verb");

    in_read = 1;
    for (;;) { /* sizeof in is MAX_STDIN + 1: one byte too many is how an oversize stdin shows */
        ssize_t r = read(0, in + in_len, sizeof in - in_len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return fail(argv, "stdin unreadable");
        if (r == 0) break;
        in_len += (size_t)r;
        if (in_len > MAX_STDIN) return fail(argv, "stdin over 1 MiB");
    }

    /* ipamd's socket: the default, or the configuration's `ipamdSocket` when it is a plain absolute path. */
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    const char *sock = DEFAULT_SOCKET, *v;
    size_t vlen;
    if (memmem(in, in_len, "ipamdSocket", 11)) {
        int m = member(in, in_len, "ipamdSocket", &v, &vlen);
        if (m < 0) return fail(argv, "unusual configuration");
        if (m == 1) {
            if (vlen < 3 || v[0] != '"' || v[1] != '/' || vlen - 2 >= sizeof addr.sun_path ||
                memchr(v, '\\', vlen) || memchr(v, 0, vlen))
                return fail(argv, "ipamdSocket not a plain path");
            memcpy(addr.sun_path, v + 1, vlen - 2), sock = NULL;
        }
    }
    if (sock) memcpy(addr.sun_path, sock, strlen(sock) + 1);

    /* {"v":1,"op":"exec",...}: `op` early, so ipamd knows the line's limit from its first bytes. */
    int ok = PUTS("{\"v\":1,\"op\":\"exec\",\"env\":{"), first = 1;
    for (size_t k = 0; ok && k < sizeof KEYS / sizeof *KEYS; k++) {
        const char *val = getenv(KEYS[k]);
        if (!val) continue;
        ok = (first || PUTS(",")) && put_string(KEYS[k], strlen(KEYS[k])) && PUTS(":") &&
             put_string(val, strlen(val));
        first = 0;
    }
    ok = ok && PUTS("},\"stdin\":") && put_string(in, in_len) && PUTS("}\n");
    if (!ok) return fail(argv, "request over 1 MiB");

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return fail(argv, "no ipamd");
    for (size_t off = 0; off < line_len;) {
        ssize_t w = send(fd, line + off, line_len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return fail(argv, "ipamd closed");
        off += (size_t)w;
    }
    size_t got = 0;
    char *nl = NULL;
    while (!nl && got < MAX_REPLY) {
        ssize_t r = read(fd, reply + got, MAX_REPLY - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return fail(argv, "no reply");
        nl = memchr(reply + got, '\n', (size_t)r);
        got += (size_t)r;
    }
    close(fd);
    if (!nl) return fail(argv, "reply too long");

    /* {"ok":true,"exitCode":N,"stdout":"..."}; anything else (a refusal included) goes to the Node plugin. */
    size_t rlen = (size_t)(nl - reply), clen, slen;
    const char *okv, *code, *out;
    if (member(reply, rlen, "ok", &okv, &vlen) != 1 || vlen != 4 || memcmp(okv, "true", 4) ||
        member(reply, rlen, "exitCode", &code, &clen) != 1 || member(reply, rlen, "stdout", &out, &slen) != 1)
        return fail(argv, "ipamd refused exec");
    int status = 0;
    for (size_t k = 0; k < clen; k++)
        status = code[k] >= '0' && code[k] <= '9' && k < 3 ? status * 10 + (code[k] - '0') : 1000;
    long n = decode_string(out, slen, (char *)out);
    if (clen == 0 || status > 255 || n < 0) return fail(argv, "bad exitCode or stdout");
    for (long off = 0; off < n;) {
        ssize_t w = write(1, out + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return 1; /* the runtime stopped listening; nothing to fall back to */
        off += w;
    }
    return status;
}
