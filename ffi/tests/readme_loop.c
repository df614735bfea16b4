/*
 * The loop of ffi/README.md, compiled and run as it stands: ffi/ci.sh
 * extracts the README's first ```c block to target/ffi/readme_body.c (its
 * #include line dropped) and builds this file around it, then runs it
 * against a CPython 3.13 Listener with the right key (exit 0) and a wrong
 * one (exit 1), so that the README's loop cannot rot.
 *   readme_loop PORT KEY
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "hmac_handshake.h"
static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) { ssize_t w = write(fd, p, n); if (w <= 0) return -1; p += w; n -= (size_t)w; }
    return 0;
}
static int readme_loop(int fd, const uint8_t *key, size_t key_len) {
#include "readme_body.c"
    return rc;
}
int main(int argc, char **argv) {
    if (argc != 3) return 2;
    struct sockaddr_in sa; memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET; sa.sin_port = htons((uint16_t)atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return 3;
    int32_t rc = readme_loop(fd, (const uint8_t *)argv[2], strlen(argv[2]));
    printf("%s\n", hh_error_name(rc));
    return rc == HH_OK ? 0 : 1;
}
