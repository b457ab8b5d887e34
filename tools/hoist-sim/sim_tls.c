/*
 * sim_tls.c - hoist-sim --tls: a throw-away certificate authority made at
 * start-up (EC P-256 keys, OpenSSL EVP) and a server certificate it signs
 * for 127.0.0.1 and localhost.  The edge serves the server certificate; the
 * CA's PEM is written to --ca-out and handed out where cloud APIs carry a
 * CA (cluster credentials, kubeconfigs, EKS certificateAuthority).
 *
 * Threading: sim_tls_setup runs once in the main thread before serving;
 * the getters only read afterwards.
 */
#include "autoconfig.h"

#include "sim.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *tls_ca_pem, *tls_cert_pem, *tls_key_pem;

/* One X.509v3 extension in OpenSSL's config syntax. */
typedef struct tls_ext_def {
    int nid;
    const char *value;
} tls_ext_def;

const char *sim_tls_ca(void)
{
    return tls_ca_pem;
}

const char *sim_tls_cert(void)
{
    return tls_cert_pem;
}

const char *sim_tls_key(void)
{
    return tls_key_pem;
}

char *sim_tls_ca_b64(void)
{
    return tls_ca_pem ? sim_base64(tls_ca_pem, strlen(tls_ca_pem)) : hoist_xstrdup("");
}

char *sim_tls_kubeconfig_ca(void)
{
    char *b64 = sim_tls_ca_b64();
    char *line = *b64 ? hoist_xasprintf("    certificate-authority-data: %s\n", b64) : hoist_xstrdup("");
    free(b64);
    return line;
}

/* OpenSSL's last error as text (owned), for messages. */
static char *tls_ossl_err(const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return hoist_xasprintf("%s failed: %s", what, e ? buf : "unknown OpenSSL error");
}

/* Add extension @nid = @value (OpenSSL config syntax) to @x; 0 or -1. */
static int tls_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

/*
 * A certificate for @key named @cn, signed by @ikey as @issuer (NULL:
 * self-signed), valid from an hour ago for 30 days, with extensions @ext
 * ({nid, value} pairs ending in {0, NULL}).  NULL on failure.
 */
static X509 *tls_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
                      const tls_ext_def *ext)
{
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    int ok = x && bn && X509_set_version(x, 2) && BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) && X509_set_pubkey(x, key) &&
             X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                        (const unsigned char *)cn, -1, -1, 0) &&
             X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    /* in order: subjectKeyIdentifier before authorityKeyIdentifier, which reads it when self-signed */
    for (; ok && ext->nid; ext++)
        ok = tls_ext(x, issuer ? issuer : x, ext->nid, ext->value) == 0;
    ok = ok && X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0;
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* PEM of @x or @key (owned). */
static char *tls_pem(X509 *x, EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *out = NULL;
    if (b && (x ? PEM_write_bio_X509(b, x) : PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))) {
        long n = BIO_get_mem_data(b, &data);
        out = hoist_xstrndup(data, (size_t)n);
    }
    BIO_free(b);
    return out;
}

int sim_tls_setup(const char *host, const char *ca_out, char **err)
{
    static const tls_ext_def ca_ext[] = {
        {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
        {NID_key_usage, "critical,keyCertSign,cRLSign"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
        {0, NULL},
    };
    EVP_PKEY *cakey = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    X509 *ca = NULL, *cert = NULL;
    struct in_addr ia;
    char *san = NULL, *out = NULL;
    int rc = -1;
    FILE *fp = NULL;

    /* the listen address too when it is a specific other one (a 0.0.0.0 bind needs no SAN) */
    if (strcmp(host, "127.0.0.1") != 0 && inet_pton(AF_INET, host, &ia) == 1 && ia.s_addr != 0)
        san = hoist_xasprintf("IP:127.0.0.1,DNS:localhost,IP:%s", host);
    else
        san = hoist_xstrdup("IP:127.0.0.1,DNS:localhost");
    tls_ext_def srv_ext[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_alt_name, san},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
        {0, NULL},
    };
    if (!cakey || !key) {
        *err = tls_ossl_err("generating an EC P-256 key");
        goto cleanup;
    }
    if (!(ca = tls_cert(cakey, "hoist-sim CA", NULL, NULL, ca_ext)) ||
        !(cert = tls_cert(key, "localhost", ca, cakey, srv_ext))) {
        *err = tls_ossl_err("making the --tls certificates");
        goto cleanup;
    }
    tls_ca_pem = tls_pem(ca, NULL);
    tls_cert_pem = tls_pem(cert, NULL);
    tls_key_pem = tls_pem(NULL, key);
    if (!tls_ca_pem || !tls_cert_pem || !tls_key_pem) {
        *err = tls_ossl_err("writing the --tls certificates as PEM");
        goto cleanup;
    }
    if (!ca_out) {
        const char *run = sim_rundir(err);
        if (!run)
            goto cleanup;
        ca_out = out = hoist_xasprintf("%s/hoist-sim-ca.pem", run);
    }
    if (!(fp = fopen(ca_out, "w")) || fputs(tls_ca_pem, fp) < 0) {
        *err = hoist_xasprintf("--ca-out %s: cannot write it: %s", ca_out, hoist_strerror(errno));
        goto cleanup;
    }
    if (fclose(fp) != 0) {
        fp = NULL;
        *err = hoist_xasprintf("--ca-out %s: cannot write it: %s", ca_out, hoist_strerror(errno));
        goto cleanup;
    }
    fp = NULL;
    printf("hoist-sim: CA certificate in %s\n", ca_out);
    rc = 0;
cleanup:
    if (fp)
        fclose(fp);
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(key);
    free(san);
    free(out);
    return rc;
}
