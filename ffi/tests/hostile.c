/*
 * The C API driven as a careless or hostile C program would: NULL
 * pointers, wrong struct_size values, structs of another (older or newer)
 * layout, values no constant names, calls out of order and after finish.
 * Each must give its error number and never crash. Built by ffi/ci.sh
 * with -fsanitize=address,undefined, so a stray read or write of the
 * library into this program's memory, or a leak, fails it too.
 * Exit 0 iff every check passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmac_handshake.h"

static int failures = 0;

#define CHECK(expr, want)                                                                  \
    do {                                                                                   \
        int32_t got_ = (expr);                                                             \
        if (got_ != (want)) {                                                              \
            fprintf(stderr, "%s:%d: %s gave %s (%d), want %s (%d)\n", __FILE__, __LINE__,  \
                    #expr, hh_error_name(got_), (int)got_, hh_error_name(want), (int)(want)); \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

#define TRUE(cond)                                                                 \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: not true: %s\n", __FILE__, __LINE__, #cond);   \
            failures++;                                                            \
        }                                                                          \
    } while (0)

static const uint8_t SECRET[32] = "0123456789abcdef0123456789abcdef";

static hh_settings settings(uint32_t profile, uint32_t role) {
    hh_settings s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.profile = profile;
    s.role = role;
    return s;
}

/* Moves every pending byte between two handshakes until neither moves. */
static void drive(hh_handshake *a, hh_handshake *b) {
    for (int round = 0; round < 16; round++) {
        hh_handshake *from = round % 2 ? b : a, *to = round % 2 ? a : b;
        const uint8_t *data = NULL;
        size_t len = 0, consumed = 0;
        CHECK(hh_handshake_pending_output(from, &data, &len), HH_OK);
        if (len == 0) continue;
        uint8_t copy[512];
        memcpy(copy, data, len);
        CHECK(hh_handshake_sent(from, len), HH_OK);
        int32_t rc = hh_handshake_receive(to, copy, len, &consumed);
        TRUE(rc == HH_OK || rc < 64);
        TRUE(consumed == len || rc != HH_OK);
    }
}

static void null_pointers(void) {
    hh_settings s = settings(HH_PROFILE_MULTIPROCESSING, HH_ROLE_SERVER);
    hh_config *c = NULL;
    CHECK(hh_config_new(NULL, SECRET, 32, &c), HH_ERR_NULL_POINTER);
    CHECK(hh_config_new(&s, NULL, 32, &c), HH_ERR_NULL_POINTER);
    CHECK(hh_config_new(&s, SECRET, 32, NULL), HH_ERR_NULL_POINTER);
    hh_settings ns = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
    CHECK(hh_config_new_native(&ns, NULL, 1, &c), HH_ERR_NULL_POINTER);
    /* The multiprocessing profile has no native keys: refused first. */
    CHECK(hh_config_new_native(&s, NULL, 1, &c), HH_ERR_INVALID_ARGUMENT);
    TRUE(c == NULL);
    CHECK(hh_config_replace_secret(NULL, SECRET, 32), HH_ERR_NULL_POINTER);
    CHECK(hh_config_replace_keys(NULL, NULL, 0), HH_ERR_NULL_POINTER);
    size_t n = 0;
    CHECK(hh_config_random_len(NULL, &n), HH_ERR_NULL_POINTER);
    hh_handshake *h = NULL;
    CHECK(hh_handshake_new(NULL, &h), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_new_pinned(NULL, NULL, 0, &h), HH_ERR_NULL_POINTER);
    TRUE(h == NULL);
    uint32_t st = 0;
    CHECK(hh_handshake_status(NULL, &st), HH_ERR_NULL_POINTER);
    const uint8_t *data;
    CHECK(hh_handshake_pending_output(NULL, &data, &n), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_receive(NULL, SECRET, 1, &n), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_sent(NULL, 0), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_finish(NULL, NULL), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_session(NULL, NULL), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_export(NULL, NULL, 0, NULL, 0, NULL, 0), HH_ERR_NULL_POINTER);
    bool b;
    CHECK(hh_handshake_peer_verified(NULL, &b), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_may_send_application_data(NULL, &b), HH_ERR_NULL_POINTER);
    hh_handshake_free(NULL);
    hh_config_free(NULL);

    CHECK(hh_config_new(&s, SECRET, 32, &c), HH_OK);
    CHECK(hh_config_random_len(c, NULL), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_new(c, NULL), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_new(c, &h), HH_OK);
    CHECK(hh_handshake_status(h, NULL), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_pending_output(h, NULL, &n), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_pending_output(h, &data, NULL), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_receive(h, NULL, 5, &n), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_receive(h, SECRET, 5, NULL), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_peer_verified(h, NULL), HH_ERR_NULL_POINTER);
    uint8_t out[8];
    CHECK(hh_handshake_export(h, NULL, 4, NULL, 0, out, 8), HH_ERR_NULL_POINTER);
    CHECK(hh_handshake_status(h, &st), HH_OK);
    TRUE(st == HH_STATUS_SEND);
    hh_handshake_free(h);
    hh_config_free(c);
}

/* An older caller's settings: the same fields, fewer of them. */
typedef struct {
    size_t struct_size;
    uint32_t profile, role;
} old_settings;

/* A newer caller's settings: one field more. */
typedef struct {
    hh_settings base;
    uint64_t added;
} new_settings;

static void wrong_sizes(void) {
    hh_config *c = NULL;
    hh_settings s = settings(HH_PROFILE_RECIPE, HH_ROLE_SERVER);
    size_t sizes[] = {0, 1, sizeof s - 1, sizeof s + 1, sizeof s * 2, (size_t)-1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        s.struct_size = sizes[i];
        CHECK(hh_config_new(&s, SECRET, 32, &c), HH_ERR_STRUCT_SIZE);
    }
    old_settings old = {sizeof old, HH_PROFILE_RECIPE, HH_ROLE_SERVER};
    CHECK(hh_config_new((const hh_settings *)(const void *)&old, SECRET, 32, &c), HH_ERR_STRUCT_SIZE);
    new_settings newer;
    memset(&newer, 0, sizeof newer);
    newer.base = settings(HH_PROFILE_RECIPE, HH_ROLE_SERVER);
    newer.base.struct_size = sizeof newer;
    CHECK(hh_config_new(&newer.base, SECRET, 32, &c), HH_ERR_STRUCT_SIZE);
    TRUE(c == NULL);

    /* A key array whose second element has the wrong size. */
    hh_settings ns = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
    hh_native_key keys[2];
    memset(keys, 0, sizeof keys);
    for (int i = 0; i < 2; i++) {
        keys[i].struct_size = sizeof keys[i];
        keys[i].key_id = (const uint8_t *)(i ? "b" : "a");
        keys[i].key_id_len = 1;
        keys[i].secret = SECRET;
        keys[i].secret_len = 32;
        keys[i].suite = HH_SUITE_HMAC_SHA256;
    }
    keys[1].struct_size = 8;
    CHECK(hh_config_new_native(&ns, keys, 2, &c), HH_ERR_STRUCT_SIZE);
    keys[1].struct_size = sizeof keys[1];
    /* A length that would reach past the address space. */
    keys[1].secret_len = (size_t)-1;
    CHECK(hh_config_new_native(&ns, keys, 2, &c), HH_ERR_INVALID_ARGUMENT);
    keys[1].secret_len = 32;
    CHECK(hh_config_new_native(&ns, keys, (size_t)-1 / 8, &c), HH_ERR_INVALID_ARGUMENT);
    CHECK(hh_config_new_native(&ns, keys, 2, &c), HH_OK);

    /* Outcome and session structs of the wrong size, after a real handshake. */
    hh_config *cc = NULL;
    ns.role = HH_ROLE_CLIENT;
    CHECK(hh_config_new_native(&ns, keys, 1, &cc), HH_OK);
    hh_handshake *server = NULL, *client = NULL;
    CHECK(hh_handshake_new(c, &server), HH_OK);
    CHECK(hh_handshake_new(cc, &client), HH_OK);
    drive(server, client);
    hh_outcome o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o - 8;
    CHECK(hh_handshake_finish(server, &o), HH_ERR_STRUCT_SIZE);
    o.struct_size = sizeof o;
    CHECK(hh_handshake_finish(server, &o), HH_OK);
    TRUE(o.profile == HH_PROFILE_NATIVE && o.key_id_len == 1 && o.key_id[0] == 'a');
    hh_session ses;
    memset(&ses, 0, sizeof ses);
    ses.struct_size = 1;
    CHECK(hh_handshake_session(server, &ses), HH_ERR_STRUCT_SIZE);
    ses.struct_size = sizeof ses;
    CHECK(hh_handshake_session(server, &ses), HH_OK);
    TRUE(ses.len == 32);
    uint8_t big[1];
    uint8_t label[256];
    memset(label, 'l', sizeof label);
    CHECK(hh_handshake_export(server, label, 256, NULL, 0, big, 1), HH_ERR_EXPORT_TOO_LONG);
    CHECK(hh_handshake_export(server, label, 255, NULL, 0, big, 1), HH_OK);
    hh_handshake_free(server);
    hh_handshake_free(client);
    hh_config_free(c);
    hh_config_free(cc);
}

static void bad_values(void) {
    hh_config *c = NULL;
    hh_settings s = settings(99, HH_ROLE_SERVER);
    CHECK(hh_config_new(&s, SECRET, 32, &c), HH_ERR_INVALID_ARGUMENT);
    s = settings(HH_PROFILE_MULTIPROCESSING, 0);
    CHECK(hh_config_new(&s, SECRET, 32, &c), HH_ERR_INVALID_ARGUMENT);
    s = settings(HH_PROFILE_MULTIPROCESSING, HH_ROLE_SERVER);
    s.digest = 0xdeadbeef;
    CHECK(hh_config_new(&s, SECRET, 32, &c), HH_ERR_INVALID_ARGUMENT);
    s.digest = HH_DIGEST_SHA512;
    CHECK(hh_config_new(&s, SECRET, 32, &c), HH_ERR_UNSUPPORTED_DIGEST);
    s.digest = HH_DIGEST_LEGACY;
    CHECK(hh_config_new(&s, SECRET, 32, &c), HH_ERR_MD5_DISABLED);
    s.digest = 0;
    s.flags = 0x80000000u;
    CHECK(hh_config_new(&s, SECRET, 32, &c), HH_ERR_INVALID_ARGUMENT);
    s.flags = 0;
    s.forward_secrecy = HH_FORWARD_SECRECY_REQUIRED;
    CHECK(hh_config_new(&s, SECRET, 32, &c), HH_ERR_INVALID_ARGUMENT);
    s.forward_secrecy = 0;
    CHECK(hh_config_new(&s, SECRET, 0, &c), HH_ERR_EMPTY_KEY);
    TRUE(c == NULL);
    TRUE(strcmp(hh_error_name(HH_ERR_BAD_TAG), "bad_tag") == 0);
    TRUE(strcmp(hh_error_name(-5), "unknown") == 0);
    TRUE(strcmp(hh_error_name(HH_ERR_PANIC), "panic") == 0);
    TRUE(strlen(hh_version()) > 0);
}

static void out_of_order(void) {
    hh_settings s = settings(HH_PROFILE_MULTIPROCESSING, HH_ROLE_SERVER);
    hh_config *sc = NULL, *cc = NULL;
    CHECK(hh_config_new(&s, SECRET, 32, &sc), HH_OK);
    s.role = HH_ROLE_CLIENT;
    CHECK(hh_config_new(&s, SECRET, 32, &cc), HH_OK);
    hh_handshake *server = NULL, *client = NULL;
    CHECK(hh_handshake_new(sc, &server), HH_OK);
    CHECK(hh_handshake_new(cc, &client), HH_OK);
    size_t consumed = 99;
    /* The server's challenge is pending: it cannot take input yet. */
    CHECK(hh_handshake_receive(server, SECRET, 4, &consumed), HH_ERR_WRONG_STATE);
    TRUE(consumed == 0);
    CHECK(hh_handshake_sent(server, 100000), HH_ERR_SENT_TOO_MUCH);
    CHECK(hh_handshake_sent(client, 1), HH_ERR_SENT_TOO_MUCH);
    CHECK(hh_handshake_finish(server, NULL), HH_ERR_NOT_FINISHED);
    hh_session ses;
    memset(&ses, 0, sizeof ses);
    ses.struct_size = sizeof ses;
    CHECK(hh_handshake_session(server, &ses), HH_ERR_NOT_FINISHED);
    uint8_t pinned[40] = {0};
    hh_handshake *h = NULL;
    CHECK(hh_handshake_new_pinned(sc, pinned, 39, &h), HH_ERR_RANDOM_LENGTH);
    TRUE(h == NULL);

    drive(server, client);
    uint32_t st = 0;
    CHECK(hh_handshake_status(server, &st), HH_OK);
    TRUE(st == HH_STATUS_DONE);
    /* At DONE, input is the application's. */
    CHECK(hh_handshake_receive(server, SECRET, 4, &consumed), HH_ERR_WRONG_STATE);
    CHECK(hh_handshake_finish(server, NULL), HH_OK);
    /* After finish: every call but free says so. */
    CHECK(hh_handshake_finish(server, NULL), HH_ERR_FINISHED);
    CHECK(hh_handshake_receive(server, SECRET, 4, &consumed), HH_ERR_FINISHED);
    CHECK(hh_handshake_sent(server, 0), HH_ERR_FINISHED);
    const uint8_t *data = (const uint8_t *)"x";
    size_t len = 7;
    CHECK(hh_handshake_pending_output(server, &data, &len), HH_ERR_FINISHED);
    TRUE(data == NULL && len == 0);
    bool b;
    CHECK(hh_handshake_may_send_application_data(server, &b), HH_ERR_FINISHED);
    CHECK(hh_handshake_status(server, &st), HH_OK);
    TRUE(st == HH_STATUS_FINISHED);
    CHECK(hh_handshake_session(server, &ses), HH_ERR_NO_SESSION);
    /* Keys of another kind. */
    hh_native_key k;
    memset(&k, 0, sizeof k);
    k.struct_size = sizeof k;
    CHECK(hh_config_replace_keys(sc, &k, 1), HH_ERR_WRONG_PROFILE);
    hh_handshake_free(server);
    hh_handshake_free(client);
    hh_config_free(sc);
    hh_config_free(cc);
}

/* The structs the library writes have no padding: two outcomes of the
 * same handshake, over different fills, are equal byte for byte. */
static void no_stale_bytes(void) {
    hh_settings s = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
    hh_native_key k;
    memset(&k, 0, sizeof k);
    k.struct_size = sizeof k;
    k.key_id = (const uint8_t *)"k1";
    k.key_id_len = 2;
    k.secret = SECRET;
    k.secret_len = 32;
    k.suite = HH_SUITE_HMAC_SHA256;
    hh_config *sc = NULL, *cc = NULL;
    CHECK(hh_config_new_native(&s, &k, 1, &sc), HH_OK);
    s.role = HH_ROLE_CLIENT;
    CHECK(hh_config_new_native(&s, &k, 1, &cc), HH_OK);
    hh_handshake *server = NULL, *client = NULL;
    CHECK(hh_handshake_new(sc, &server), HH_OK);
    CHECK(hh_handshake_new(cc, &client), HH_OK);
    drive(server, client);
    hh_outcome a, b;
    memset(&a, 0xAA, sizeof a);
    memset(&b, 0x55, sizeof b);
    a.struct_size = b.struct_size = sizeof a;
    CHECK(hh_handshake_finish(server, &a), HH_OK);
    CHECK(hh_handshake_finish(client, &b), HH_OK);
    /* The two sides' outcomes differ only in confirmation (and what each consumed). */
    TRUE(a.reserved[0] == 0 && a.reserved[3] == 0 && b.reserved[1] == 0);
    b.confirmation = a.confirmation;
    b.consumed = a.consumed;
    TRUE(memcmp(&a, &b, sizeof a) == 0);
    hh_session x, y;
    memset(&x, 0xAA, sizeof x);
    memset(&y, 0x55, sizeof y);
    x.struct_size = y.struct_size = sizeof x;
    CHECK(hh_handshake_session(server, &x), HH_OK);
    CHECK(hh_handshake_session(client, &y), HH_OK);
    TRUE(memcmp(&x, &y, sizeof x) == 0);
    CHECK(hh_session_wipe(&x), HH_OK);
    TRUE(x.struct_size == sizeof x && x.len == 0 && x.client_to_server_key[0] == 0 &&
         x.server_to_client_key[63] == 0);
    x.struct_size = 3;
    CHECK(hh_session_wipe(&x), HH_ERR_STRUCT_SIZE);
    CHECK(hh_session_wipe(NULL), HH_ERR_NULL_POINTER);
    hh_handshake_free(server);
    hh_handshake_free(client);
    hh_config_free(sc);
    hh_config_free(cc);
}

/* A wrong key: the peer errors, the failure message, then finish. */
static void wrong_key(void) {
    hh_settings s = settings(HH_PROFILE_MULTIPROCESSING, HH_ROLE_SERVER);
    hh_config *sc = NULL, *cc = NULL;
    CHECK(hh_config_new(&s, SECRET, 32, &sc), HH_OK);
    s.role = HH_ROLE_CLIENT;
    CHECK(hh_config_new(&s, (const uint8_t *)"other", 5, &cc), HH_OK);
    hh_handshake *server = NULL, *client = NULL;
    CHECK(hh_handshake_new(sc, &server), HH_OK);
    CHECK(hh_handshake_new(cc, &client), HH_OK);
    /* By hand up to the server's verdict: the error shows with #FAILURE# pending. */
    for (int i = 0; i < 2; i++) { /* the challenge, then the client's reply */
        hh_handshake *from = i % 2 ? client : server, *to = i % 2 ? server : client;
        const uint8_t *data = NULL;
        size_t len = 0, consumed = 0;
        uint8_t copy[512];
        CHECK(hh_handshake_pending_output(from, &data, &len), HH_OK);
        memcpy(copy, data, len);
        CHECK(hh_handshake_sent(from, len), HH_OK);
        CHECK(hh_handshake_receive(to, copy, len, &consumed), i == 1 ? HH_ERR_BAD_TAG : HH_OK);
        TRUE(consumed == len);
    }
    uint32_t st = 0;
    CHECK(hh_handshake_status(server, &st), HH_ERR_BAD_TAG);
    TRUE(st == HH_STATUS_SEND);
    TRUE(hh_is_peer_error(HH_ERR_BAD_TAG) && !hh_is_peer_error(HH_ERR_NULL_POINTER) && !hh_is_peer_error(0));
    TRUE(strcmp(hh_status_name(st), "send") == 0 && strcmp(hh_status_name(77), "unknown") == 0);
    drive(server, client);
    CHECK(hh_handshake_status(server, &st), HH_ERR_BAD_TAG);
    TRUE(st == HH_STATUS_FAILED);
    CHECK(hh_handshake_status(client, &st), HH_ERR_PEER_REJECTED);
    CHECK(hh_handshake_finish(server, NULL), HH_ERR_BAD_TAG);
    CHECK(hh_handshake_finish(server, NULL), HH_ERR_FINISHED);
    /* The status keeps the error after finish. */
    CHECK(hh_handshake_status(server, &st), HH_ERR_BAD_TAG);
    TRUE(st == HH_STATUS_FINISHED);
    hh_handshake_free(server);
    /* The client is freed unfinished: fine. */
    hh_handshake_free(client);
    hh_config_free(sc);
    hh_config_free(cc);
}

int main(void) {
    null_pointers();
    wrong_sizes();
    bad_values();
    out_of_order();
    wrong_key();
    no_stale_bytes();
    if (failures) {
        fprintf(stderr, "hostile: %d checks failed\n", failures);
        return 1;
    }
    printf("hostile: all checks passed\n");
    return 0;
}
