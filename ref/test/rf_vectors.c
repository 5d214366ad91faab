// rf_vectors.c: runs vectors/protocol/*.vec against the C agent over the semantics layer on the
// host kernel's sockets (what target `harness` runs), byte for byte: each `expect` after a `send`
// is the next line the agent wrote (`+` lines, then the last), and nothing may be left over.
// Usage: rf_vectors FILE.vec... ; TAP and a closing "N passed, N failed".
#include <stdio.h>
#include <string.h>

#include "../../harness/test/hn_capture.h"
#include "../rf_kernel.h"

#define VEC_LINE 16384

static int vec_hex(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

// The bytes a send/expect value stands for (\xHH and \\ escapes).
static size_t vec_unescape(const char *s, char *dst) {
    size_t w = 0;
    for (size_t k = 0; s[k]; k++) {
        if (s[k] == '\\' && s[k + 1] == '\\') {
            dst[w++] = '\\';
            k++;
        } else if (s[k] == '\\' && s[k + 1] == 'x' && vec_hex(s[k + 2]) >= 0 && vec_hex(s[k + 3]) >= 0) {
            dst[w++] = (char)(vec_hex(s[k + 2]) * 16 + vec_hex(s[k + 3]));
            k += 3;
        } else {
            dst[w++] = s[k];
        }
    }
    return w;
}

static void vec_show(const char *label, const char *p, size_t n) {
    printf("#   %s: ", label);
    for (size_t k = 0; k < n; k++) {
        unsigned char ch = (unsigned char)p[k];
        if (ch >= 0x20 && ch < 0x7F) {
            putchar(ch);
        } else {
            printf("\\x%02x", ch);
        }
    }
    putchar('\n');
}

int main(int argc, char **argv) {
    static char line[VEC_LINE], buf[VEC_LINE], in[HN_MAXLINE], out[HN_MAXLINE], name[256];
    static hn_agent agent;
    static hn_port port;
    hn_capture_fill(&port);
    port.impl = "sockconf-c";
    port.version = "test";
    port.machine = "test";
    rf_sem_fill(&port, &rf_kernel_api);

    int passed = 0, failed = 0, skipped = 0, records = 0;
    for (int f = 1; f < argc; f++) {
        FILE *fp = fopen(argv[f], "r");
        if (!fp) {
            printf("not ok - cannot open %s\n", argv[f]);
            failed++;
            continue;
        }
        int in_record = 0, skip = 0, bad = 0, exchanges = 0;
        size_t seen = 0;    // what the expects after the last send have matched of hn_capture
        for (;;) {
            char *got = fgets(line, sizeof line, fp);
            size_t n = got ? strlen(line) : 0;
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
                line[--n] = 0;
            }
            if (!got || n == 0) {
                if (in_record && !skip && seen != hn_capture_len) {
                    printf("# %s: the agent wrote more than the record expects\n", name);
                    vec_show("more    ", hn_capture + seen, hn_capture_len - seen);
                    bad = 1;
                }
                if (in_record) {
                    // end of a record: its verdict, then close what it left open
                    for (int h = 0; h < HN_MAXHANDLES; h++) {
                        if (agent.handles[h].used && agent.handles[h].open) {
                            port.release(0, agent.handles[h].desc);
                        }
                    }
                    if (skip) {
                        printf("ok %d - %s # SKIP for another agent\n", ++records, name);
                        skipped++;
                    } else if (bad || exchanges == 0) {
                        printf("not ok %d - %s%s\n", ++records, name, exchanges ? "" : " (no exchange)");
                        failed++;
                    } else {
                        printf("ok %d - %s\n", ++records, name);
                        passed++;
                    }
                }
                in_record = 0;
                if (!got) {
                    break;
                }
                continue;
            }
            if (line[0] == '#') {
                continue;
            }
            char *colon = strstr(line, ": ");
            const char *key = line, *val = colon ? colon + 2 : "";
            if (colon) {
                *colon = 0;
            } else if (n && line[n - 1] == ':') {
                line[n - 1] = 0;
            }
            if (!in_record) {
                in_record = 1;
                skip = bad = exchanges = 0;
                snprintf(name, sizeof name, "%s", strcmp(key, "name") == 0 ? val : "(unnamed)");
                hn_agent_init(&agent, &port, in, out);
                hn_capture_len = seen = 0;
            }
            if (strcmp(key, "agent") == 0 && strcmp(val, "sockconf-c") != 0) {
                skip = 1;
            } else if (skip) {
                continue;
            } else if (strcmp(key, "send") == 0 || strcmp(key, "send-fill") == 0) {
                size_t len;
                if (key[4] == '-') {
                    unsigned count = 0;
                    char ch = 'A';
                    sscanf(val, "%u %c", &count, &ch);
                    len = count < sizeof buf - 1 ? count : sizeof buf - 1;
                    memset(buf, ch, len);
                } else {
                    len = vec_unescape(val, buf);
                }
                buf[len++] = '\n';
                if (seen != hn_capture_len) {
                    printf("# %s: the agent wrote more than the record expects\n", name);
                    vec_show("more    ", hn_capture + seen, hn_capture_len - seen);
                    bad = 1;
                }
                hn_capture_len = seen = 0;
                if (hn_agent_feed(&agent, buf, len) < 0) {
                    printf("# %s: link write failed\n", name);
                    bad = 1;
                }
            } else if (strcmp(key, "expect") == 0) {
                size_t len = 0;
                if (strcmp(val, "-") != 0) {
                    len = vec_unescape(val, buf);
                    buf[len++] = '\n';
                }
                exchanges++;
                // the next line the agent wrote (none, for `-`)
                size_t next = seen;
                while (next < hn_capture_len && hn_capture[next++] != '\n') {
                }
                if (len != next - seen || memcmp(buf, hn_capture + seen, len) != 0) {
                    printf("# %s: exchange %d differs\n", name, exchanges);
                    vec_show("expected", buf, len);
                    vec_show("got     ", hn_capture + seen, next - seen);
                    bad = 1;
                }
                seen = next;
            }
        }
        fclose(fp);
    }
    printf("1..%d\n", records);
    printf("vectors: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
