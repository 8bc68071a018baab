/*
 * probe.c - names every type of the public module ABI in one exported
 * function, so that `abidw` (libabigail) records their layouts from the
 * debug information of a tiny shared object built from the installed
 * headers.  sdk/abi/check.sh compares that record against the stored
 * baseline and fails on an incompatible change.
 */
#include <cursus/cursus.h>

CURSUS_EXPORT void cursus_abi_probe(
    struct cursus_module *m, cursus_keyword *kw, cursus_host *h,
    cursus_buf *b, cursus_bytes *by, cursus_channel_ops *ch,
    cursus_queue_ops *q, cursus_recipient *rc, cursus_result *rs,
    cursus_protocol_ops *p, cursus_conn_ops *co, cursus_conn_info *ci,
    cursus_mapping_ops *ma, cursus_lookup_ops *lo, cursus_directory_ops *d,
    cursus_entry *e, cursus_attr *a, cursus_store_ops *s,
    cursus_store_access *sa, cursus_auth_ops *au, cursus_auth_access *aa,
    cursus_auth_info *ai, cursus_filter_ops *f);

void cursus_abi_probe(struct cursus_module *m, cursus_keyword *kw,
                      cursus_host *h, cursus_buf *b, cursus_bytes *by,
                      cursus_channel_ops *ch, cursus_queue_ops *q,
                      cursus_recipient *rc, cursus_result *rs,
                      cursus_protocol_ops *p, cursus_conn_ops *co,
                      cursus_conn_info *ci, cursus_mapping_ops *ma,
                      cursus_lookup_ops *lo, cursus_directory_ops *d,
                      cursus_entry *e, cursus_attr *a, cursus_store_ops *s,
                      cursus_store_access *sa, cursus_auth_ops *au,
                      cursus_auth_access *aa, cursus_auth_info *ai,
                      cursus_filter_ops *f) {}
