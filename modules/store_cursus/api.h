/*
 * api.h - the functions behind store_cursus's cursus_store_ops table,
 * one group per file: mailbox.c (by name), list.c, view.c (open
 * mailboxes), flags.c, search.c, append.c, watch.c, admin.c
 */
#ifndef SC_API_H
#define SC_API_H

#include "user.h"

/* mailbox.c */
bool sc_rmtree(const char *path);
bool sc_mailbox_create_loc(cursus_store_user *u, const sc_loc *loc,
                           uint32_t special_use, GError **error);
uint32_t sc_unseen_for(sc_folder *f, const char *seen_user);
void sc_fill_status(sc_folder *f, const char *seen_user,
                    cursus_store_status *s);
int sc_op_mailbox_create(cursus_store_user *u, const char *name,
                         uint32_t special_use, const char **error_r);
int sc_op_mailbox_delete(cursus_store_user *u, const char *name,
                         const char **error_r);
int sc_op_mailbox_rename(cursus_store_user *u, const char *old_name,
                         const char *new_name, const char **error_r);
int sc_op_mailbox_subscribe(cursus_store_user *u, const char *name,
                            int subscribe, const char **error_r);
int sc_op_mailbox_status(cursus_store_user *u, const char *name,
                         cursus_store_status *status, const char **error_r);
int sc_op_mailbox_set_special_use(cursus_store_user *u, const char *name,
                                  uint32_t special_use, const char **error_r);
int sc_op_acl_get(cursus_store_user *u, const char *name,
                  int (*cb)(void *data, const char *identifier,
                            uint32_t rights),
                  void *data, const char **error_r);
int sc_op_acl_set(cursus_store_user *u, const char *name,
                  const char *identifier, cursus_store_acl_mode mode,
                  uint32_t rights, const char **error_r);
int sc_op_acl_myrights(cursus_store_user *u, const char *name,
                       uint32_t *rights_r, const char **error_r);
int sc_op_acl_listrights(cursus_store_user *u, const char *name,
                         const char *identifier, uint32_t *required_r,
                         uint32_t *optional_r, const char **error_r);
int sc_op_quota_root(cursus_store_user *u, const char *name, cursus_buf *root,
                     const char **error_r);
int sc_op_quota_get(cursus_store_user *u, const char *root,
                    cursus_store_quota *q, const char **error_r);
int sc_op_quota_set_warned(cursus_store_user *u, int64_t when,
                           const char **error_r);
int sc_op_quota_claim_warned(cursus_store_user *u, int64_t expected,
                             int64_t when, const char **error_r);

/* list.c */
int sc_op_mailbox_list(cursus_store_user *u, const char *const *patterns,
                       unsigned flags,
                       int (*cb)(void *data, const cursus_store_list_entry *e),
                       void *data, const char **error_r);
/* sc_list_match - IMAP LIST wildcard match of NAME against PATTERN */
bool sc_list_match(const char *pattern, const char *name, char sep);

/* view.c */
int sc_op_mailbox_open(cursus_store_user *u, const char *name, unsigned flags,
                       cursus_store_mailbox **box_r, const char **error_r);
void sc_op_mailbox_close(cursus_store_mailbox **box);
const char *sc_op_mailbox_name(cursus_store_mailbox *box);
int sc_op_mailbox_state(cursus_store_mailbox *box, cursus_store_status *s,
                        const char **error_r);
int sc_op_mailbox_sync(cursus_store_mailbox *box, unsigned flags,
                       const cursus_store_sync_cb *cb, void *data,
                       const char **error_r);
uint32_t sc_op_mailbox_count(cursus_store_mailbox *box);
const char *const *sc_op_mailbox_keywords(cursus_store_mailbox *box,
                                          size_t *count_r);
uint32_t sc_op_message_uid(cursus_store_mailbox *box, uint32_t seq);
uint32_t sc_op_message_seq(cursus_store_mailbox *box, uint32_t uid);
int sc_op_message_seq_range(cursus_store_mailbox *box, uint32_t first_uid,
                            uint32_t last_uid, uint32_t *first_seq_r,
                            uint32_t *last_seq_r);
int sc_op_message_info(cursus_store_mailbox *box, uint32_t seq,
                       cursus_store_message *msg, const char **error_r);
int sc_op_message_field(cursus_store_mailbox *box, uint32_t seq,
                        cursus_store_field field, cursus_buf *out,
                        const char **error_r);
int sc_op_message_headers(cursus_store_mailbox *box, uint32_t seq,
                          const char *part, const char *const *names,
                          int exclude, cursus_buf *out, const char **error_r);
int sc_op_message_part(cursus_store_mailbox *box, uint32_t seq,
                       const char *part, cursus_store_part *part_r,
                       const char **error_r);
int sc_op_message_open(cursus_store_mailbox *box, uint32_t seq, int *fd_r,
                       uint64_t *size_r, const char **error_r);
int sc_op_message_binary(cursus_store_mailbox *box, uint32_t seq,
                         const char *part, cursus_buf *out,
                         const char **error_r);
int sc_op_mailbox_changed_since(cursus_store_mailbox *box, uint64_t modseq,
                                void (*changed)(void *data, uint32_t seq,
                                                uint32_t uid),
                                void *data, const char **error_r);
int sc_op_mailbox_vanished_since(cursus_store_mailbox *box, uint64_t modseq,
                                 const cursus_store_set *known,
                                 void (*vanished)(void *data, uint32_t uid),
                                 void *data, const char **error_r);
/* sc_view_seqs - the view's sequence numbers in SET, ascending, unique
 * (mu held) */
GArray *sc_view_seqs(cursus_store_mailbox *box, const cursus_store_set *set);
/* sc_view_report_expunges - drop from the view what left the folder,
 * reporting each (mu held) */
void sc_view_report_expunges(cursus_store_mailbox *box,
                             void (*expunged)(void *data, uint32_t seq,
                                              uint32_t uid),
                             void *data);
/* sc_view_info - the cache record of the view's message SEQ (mu held);
 * owned by the view */
struct sc_msginfo *sc_view_info(cursus_store_mailbox *box, uint32_t seq,
                                GError **error);

/* flags.c */
int sc_op_message_store_flags(cursus_store_mailbox *box,
                              const cursus_store_set *set,
                              cursus_store_flag_mode mode, uint32_t flags,
                              const char *const *keywords,
                              uint64_t unchangedsince,
                              void (*changed)(void *data, uint32_t seq,
                                              uint32_t uid),
                              void (*modified)(void *data, uint32_t seq,
                                               uint32_t uid),
                              void *data, const char **error_r);
int sc_op_mailbox_expunge(cursus_store_mailbox *box,
                          const cursus_store_set *set,
                          void (*expunged)(void *data, uint32_t seq,
                                           uint32_t uid),
                          void *data, const char **error_r);
int sc_op_message_copy(cursus_store_mailbox *box, const cursus_store_set *set,
                       const char *dest,
                       void (*copied)(void *data, uint32_t src_uid,
                                      uint32_t dst_uid),
                       void *data, uint32_t *uidvalidity_r,
                       const char **error_r);
int sc_op_message_move(cursus_store_mailbox *box, const cursus_store_set *set,
                       const char *dest,
                       void (*copied)(void *data, uint32_t src_uid,
                                      uint32_t dst_uid),
                       void (*expunged)(void *data, uint32_t seq,
                                        uint32_t uid),
                       void *data, uint32_t *uidvalidity_r,
                       const char **error_r);
/* sc_expunge_uids - remove UIDS (ascending) from F, owned by OWNER whose
 * directory is DIR, and count them off the owner's usage */
bool sc_expunge_uids(sc_store *st, sc_folder *f, const char *owner,
                     const char *dir, const GArray *uids, GError **error);

/* search.c */
int sc_op_mailbox_search(cursus_store_mailbox *box,
                         const cursus_store_search *query,
                         void (*match)(void *data, uint32_t seq, uint32_t uid),
                         void *data, const char **error_r);

/* append.c */
cursus_store_append *sc_op_append_begin(void *store,
                                        const cursus_store_append_params *p,
                                        const char **error_r);
int sc_op_append_target(cursus_store_append *a, cursus_store_user *user,
                        const cursus_store_target *t, const char **error_r);
int sc_op_append_write(cursus_store_append *a, const void *data, size_t len,
                       const char **error_r);
int sc_op_append_commit(cursus_store_append *a,
                        cursus_store_append_result *results,
                        const char **error_r);
void sc_op_append_free(cursus_store_append **a);

/* A message to copy into a folder (copy, move, rename of INBOX). */
typedef struct sc_copy_item {
  const char *src_path;     /* the message file                       */
  const char *src_partition;/* its partition (links only within one)  */
  sc_rec rec;               /* flags, keywords (as names below), dates */
  GPtrArray *keywords;      /* of char*                                */
  GBytes *blob;             /* the cache record                        */
  uint32_t new_uid;         /* set by sc_copy_into                     */
} sc_copy_item;

/* sc_copy_into - store ITEMS into U's mailbox DEST_FULL (needs `i`),
 * all or nothing; *uidvalidity_r is the destination's */
bool sc_copy_into(cursus_store_user *u, const char *dest_full,
                  GPtrArray *items, uint32_t *uidvalidity_r, GError **error);

/* watch.c: see watch.h */

/* admin.c */
int sc_op_users_list(void *store,
                     int (*cb)(void *data, const char *user,
                               const char *partition),
                     void *data, const char **error_r);
int sc_op_user_delete(void *store, const char *user, const char **error_r);
int sc_op_user_move(void *store, const char *user, const char *partition,
                    const char **error_r);
const cursus_store_partition *sc_op_partitions(void *store, size_t *count_r,
                                               const char **error_r);
int sc_op_reconstruct(void *store, const char *target, unsigned flags,
                      void (*report)(void *data, const char *line), void *data,
                      const char **error_r);
int sc_op_snapshot(void *store, cursus_buf *name, const char **error_r);
int sc_op_snapshot_list(void *store,
                        int (*cb)(void *data, const char *name, int64_t when),
                        void *data, const char **error_r);
int sc_op_snapshot_restore(void *store, const char *name,
                           void (*report)(void *data, const char *line),
                           void *data, const char **error_r);
int sc_op_snapshot_prune(void *store, unsigned keep, const char **error_r);

#endif
