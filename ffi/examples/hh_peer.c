/*
 * hh_peer: a C program that authenticates a TCP connection with
 * libhmac_handshake_ffi, in any profile and either role, then exchanges
 * one message the way the peers do after the handshake.
 *
 *   hh_peer connect PROFILE HOST:PORT MESSAGE
 *       Client: handshake, send MESSAGE, read the echo, exit 0 iff it is
 *       MESSAGE. Against `hmac-handshake serve` or a CPython Listener.
 *   hh_peer accept PROFILE
 *       Server on 127.0.0.1 (a free port): prints "PORT n" on stdout,
 *       takes one connection, handshake, echoes messages until the peer
 *       closes; exit 0 iff it authenticated and echoed at least one.
 *       Against `hmac-handshake connect` or a CPython Client.
 *
 * PROFILE: recipe | multiprocessing | native.
 * Environment:
 *   HMAC_HANDSHAKE_KEY     the key: its bytes, or hex:HEX (as the CLI)
 *   HMAC_HANDSHAKE_KEY_ID  native: the key id (default "default", as the CLI);
 *                          the client holds the key under all four suites (the
 *                          server's picks), the server keys it for hmac-sha256
 *   HH_PEER_ALLOW_MD5=1    multiprocessing: produce and accept HMAC-MD5, for
 *                          Python 2.7 to 3.11 peers
 * After the handshake: the recipe sends raw bytes; multiprocessing and
 * native frame each message with a 4-byte big-endian length (CPython's
 * send_bytes / recv_bytes).
 * Exit status: 0 success; 1 the handshake failed (its error code on
 * stderr); 2 usage; 3 an I/O error, a timeout, or a wrong echo.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "hmac_handshake.h"

enum { EXIT_AUTH = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

#define MAX_KEY 4096
#define MAX_MESSAGE 65536

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes, first from the handshake's leftover bytes. */
static int read_exact(int fd, uint8_t *rest, size_t *rest_len, uint8_t *p, size_t n) {
    size_t take = *rest_len < n ? *rest_len : n;
    memcpy(p, rest, take);
    memmove(rest, rest + take, *rest_len - take);
    *rest_len -= take;
    for (size_t got = take; got < n;) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The key from HMAC_HANDSHAKE_KEY: its bytes, or hex:HEX. */
static int load_key(uint8_t *key, size_t *len) {
    const char *text = getenv("HMAC_HANDSHAKE_KEY");
    if (text == NULL || *text == '\0') {
        fprintf(stderr, "hh_peer: set HMAC_HANDSHAKE_KEY (its bytes, or hex:HEX)\n");
        return -1;
    }
    if ((text[0] == 'h' || text[0] == 'H') && (text[1] == 'e' || text[1] == 'E') &&
        (text[2] == 'x' || text[2] == 'X') && text[3] == ':') {
        const char *hex = text + 4;
        size_t n = strlen(hex);
        if (n % 2 != 0 || n / 2 > MAX_KEY) {
            fprintf(stderr, "hh_peer: HMAC_HANDSHAKE_KEY: hex: needs an even number of hex digits\n");
            return -1;
        }
        for (size_t i = 0; i < n / 2; i++) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                fprintf(stderr, "hh_peer: HMAC_HANDSHAKE_KEY: not a hex digit after hex:\n");
                return -1;
            }
            key[i] = (uint8_t)(hi * 16 + lo);
        }
        *len = n / 2;
    } else {
        *len = strlen(text);
        if (*len > MAX_KEY) {
            fprintf(stderr, "hh_peer: HMAC_HANDSHAKE_KEY: longer than %d bytes\n", MAX_KEY);
            return -1;
        }
        memcpy(key, text, *len);
    }
    return 0;
}

static int profile_number(const char *name) {
    if (strcmp(name, "recipe") == 0) return HH_PROFILE_RECIPE;
    if (strcmp(name, "multiprocessing") == 0) return HH_PROFILE_MULTIPROCESSING;
    if (strcmp(name, "native") == 0) return HH_PROFILE_NATIVE;
    return 0;
}

/* One config for `profile` and `role`, the key from the environment. */
static int make_config(uint32_t profile, uint32_t role, hh_config **config) {
    static uint8_t key[MAX_KEY];
    size_t key_len = 0;
    if (load_key(key, &key_len) != 0) return -1;
    hh_settings s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.profile = profile;
    s.role = role;
    const char *md5 = getenv("HH_PEER_ALLOW_MD5");
    if (profile == HH_PROFILE_MULTIPROCESSING && md5 != NULL && strcmp(md5, "1") == 0)
        s.flags = HH_FLAG_ALLOW_MD5;
    int32_t rc;
    if (profile == HH_PROFILE_NATIVE) {
        const char *id = getenv("HMAC_HANDSHAKE_KEY_ID");
        if (id == NULL) id = "default";
        /* A client accepts any suite the server announces; a server uses one. */
        hh_native_key k[4];
        memset(k, 0, sizeof k);
        size_t count = role == HH_ROLE_CLIENT ? 4 : 1;
        for (size_t i = 0; i < count; i++) {
            k[i].struct_size = sizeof k[i];
            k[i].key_id = (const uint8_t *)id;
            k[i].key_id_len = strlen(id);
            k[i].secret = key;
            k[i].secret_len = key_len;
            k[i].suite = (uint32_t)(HH_SUITE_HMAC_SHA256 + i);
        }
        rc = hh_config_new_native(&s, k, count, config);
    } else {
        rc = hh_config_new(&s, key, key_len, config);
    }
    memset(key, 0, sizeof key);
    if (rc != HH_OK) {
        fprintf(stderr, "hh_peer: settings refused: %s (%d)\n", hh_error_name(rc), (int)rc);
        return -1;
    }
    return 0;
}

/*
 * Runs the handshake on `fd`: the loop every embedding writes. Bytes read
 * past the handshake are left in rest[0..*rest_len] for the application.
 * Returns HH_OK, a handshake error number, or -1 for an I/O error.
 */
static int32_t run_handshake(int fd, hh_handshake *h, uint8_t *rest, size_t cap, size_t *rest_len) {
    size_t have = 0;
    for (;;) {
        uint32_t status = 0;
        int32_t rc = hh_handshake_status(h, &status);
        if (status == HH_STATUS_SEND) {
            const uint8_t *data = NULL;
            size_t len = 0;
            if (hh_handshake_pending_output(h, &data, &len) != HH_OK) return -1;
            /* rc != 0: a failure notice; if the peer is gone, rc still says why. */
            if (write_all(fd, data, len) != 0) return rc != HH_OK ? rc : -1;
            if (hh_handshake_sent(h, len) != HH_OK) return -1;
        } else if (status == HH_STATUS_FAILED) {
            return rc;
        } else if (status == HH_STATUS_DONE) {
            *rest_len = have;
            return HH_OK;
        } else if (status == HH_STATUS_NEED_INPUT) {
            if (have == 0) {
                ssize_t r = read(fd, rest, cap);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) {
                    fprintf(stderr, "hh_peer: the peer closed (or timed out) during the handshake\n");
                    return -1;
                }
                have = (size_t)r;
            }
            size_t consumed = 0;
            rc = hh_handshake_receive(h, rest, have, &consumed);
            memmove(rest, rest + consumed, have - consumed);
            have -= consumed;
            if (rc != HH_OK && rc >= 64) return -1; /* a call of ours was wrong: a bug */
        } else {
            return -1;
        }
    }
}

/* Handshake, then finish; prints what it concluded. */
static int authenticate(int fd, hh_config *config, uint8_t *rest, size_t cap, size_t *rest_len) {
    hh_handshake *h = NULL;
    int32_t rc = hh_handshake_new(config, &h);
    if (rc != HH_OK) {
        fprintf(stderr, "hh_peer: hh_handshake_new: %s\n", hh_error_name(rc));
        return EXIT_IO;
    }
    rc = run_handshake(fd, h, rest, cap, rest_len);
    if (rc == -1) {
        hh_handshake_free(h);
        return EXIT_IO;
    }
    hh_outcome o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    int32_t fin = hh_handshake_finish(h, &o);
    hh_handshake_free(h);
    if (rc != HH_OK || fin != HH_OK) {
        int32_t e = rc != HH_OK ? rc : fin;
        fprintf(stderr, "hh_peer: handshake failed: %s (%d)\n", hh_error_name(e), (int)e);
        return EXIT_AUTH;
    }
    fprintf(stderr, "hh_peer: handshake done: profile %u, digest %u, legacy %d, peer verified %d, key id %.*s\n",
            (unsigned)o.profile, (unsigned)o.digest, (int)o.legacy, (int)o.peer_authenticated,
            (int)o.key_id_len, (const char *)o.key_id);
    return 0;
}

static void bound(int fd) {
    struct timeval tv = {10, 0};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* The handshake on a connected `fd`, in `role`: the config, the loop, the outcome. */
static int handshake_on(int fd, uint32_t profile, uint32_t role, uint8_t *rest, size_t cap,
                        size_t *rest_len) {
    hh_config *config = NULL;
    if (make_config(profile, role, &config) != 0) return EXIT_USAGE;
    bound(fd);
    int status = authenticate(fd, config, rest, cap, rest_len);
    hh_config_free(config);
    return status;
}

static int send_message(int fd, uint32_t profile, const uint8_t *m, size_t n) {
    if (profile != HH_PROFILE_RECIPE) {
        uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
        if (write_all(fd, len, 4) != 0) return -1;
    }
    return write_all(fd, m, n);
}

static int do_connect(uint32_t profile, const char *addr, const char *message) {
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host) return EXIT_USAGE;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return EXIT_USAGE;

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("hh_peer: connect");
        return EXIT_IO;
    }
    static uint8_t rest[MAX_MESSAGE + 4];
    size_t rest_len = 0;
    int status = handshake_on(fd, profile, HH_ROLE_CLIENT, rest, sizeof rest, &rest_len);
    if (status != 0) {
        close(fd);
        return status;
    }
    size_t n = strlen(message);
    static uint8_t reply[MAX_MESSAGE];
    if (n > MAX_MESSAGE || send_message(fd, profile, (const uint8_t *)message, n) != 0) {
        close(fd);
        return EXIT_IO;
    }
    size_t expect = n;
    if (profile != HH_PROFILE_RECIPE) {
        uint8_t len[4];
        if (read_exact(fd, rest, &rest_len, len, 4) != 0) {
            fprintf(stderr, "hh_peer: no reply (the server may have rejected us)\n");
            close(fd);
            return EXIT_IO;
        }
        expect = ((size_t)len[0] << 24) | ((size_t)len[1] << 16) | ((size_t)len[2] << 8) | len[3];
    }
    if (expect != n || read_exact(fd, rest, &rest_len, reply, n) != 0 || memcmp(reply, message, n) != 0) {
        fprintf(stderr, "hh_peer: the reply is not our message (or none came)\n");
        close(fd);
        return EXIT_IO;
    }
    close(fd);
    printf("echo ok: %zu bytes\n", n);
    return 0;
}

static int do_accept(uint32_t profile) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
        perror("hh_peer: listen");
        return EXIT_IO;
    }
    printf("PORT %d\n", (int)ntohs(sa.sin_port));
    fflush(stdout);
    struct timeval tv = {30, 0};
    setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int fd = accept(lfd, NULL, NULL);
    close(lfd);
    if (fd < 0) {
        perror("hh_peer: accept");
        return EXIT_IO;
    }
    static uint8_t rest[MAX_MESSAGE + 4];
    size_t rest_len = 0;
    int status = handshake_on(fd, profile, HH_ROLE_SERVER, rest, sizeof rest, &rest_len);
    if (status != 0) {
        close(fd);
        return status;
    }
    int echoed = 0;
    static uint8_t m[MAX_MESSAGE];
    for (;;) {
        size_t n;
        if (profile == HH_PROFILE_RECIPE) {
            if (rest_len > 0) {
                n = rest_len;
                memcpy(m, rest, n);
                rest_len = 0;
            } else {
                ssize_t r = read(fd, m, sizeof m);
                if (r <= 0) break;
                n = (size_t)r;
            }
        } else {
            uint8_t len[4];
            if (read_exact(fd, rest, &rest_len, len, 4) != 0) break;
            n = ((size_t)len[0] << 24) | ((size_t)len[1] << 16) | ((size_t)len[2] << 8) | len[3];
            if (n > MAX_MESSAGE || read_exact(fd, rest, &rest_len, m, n) != 0) break;
        }
        if (send_message(fd, profile, m, n) != 0) break;
        echoed++;
    }
    close(fd);
    if (echoed == 0) {
        fprintf(stderr, "hh_peer: authenticated, but no message came\n");
        return EXIT_IO;
    }
    printf("echoed %d messages\n", echoed);
    return 0;
}

int main(int argc, char **argv) {
    uint32_t profile = argc >= 3 ? (uint32_t)profile_number(argv[2]) : 0;
    if (argc == 5 && strcmp(argv[1], "connect") == 0 && profile != 0)
        return do_connect(profile, argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "accept") == 0 && profile != 0) return do_accept(profile);
    fprintf(stderr,
            "usage: hh_peer connect PROFILE HOST:PORT MESSAGE\n"
            "       hh_peer accept PROFILE\n"
            "PROFILE: recipe | multiprocessing | native; key in HMAC_HANDSHAKE_KEY (libhmac_handshake_ffi %s)\n",
            hh_version());
    return EXIT_USAGE;
}
