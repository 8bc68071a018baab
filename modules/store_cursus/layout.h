/*
 * layout.h - where things are on disk: partitions, the two-level hashed
 * user directories, folder directories, message files
 *
 *   PARTITION/=user/<h1>/<h2>/=<user>/        the user's INBOX
 *   .../=<user>/=Sent/=2024/                  folder "Sent/2024"
 *   .../=<user>/=INBOX/=Sub/                  folder "INBOX/Sub"
 *   FOLDER/<uid>.msg                          uid below the folder's hash
 *                                             threshold
 *   FOLDER/<hex(uid >> 12)>/<uid>.msg         above it
 *
 * h1/h2 are two bytes of the FNV-1a hash of the user id in hex.  Name
 * components are kept as UTF-8 with '/', '%', control bytes and a leading
 * '.' written as %XX.
 */
#ifndef SC_LAYOUT_H
#define SC_LAYOUT_H

#include "sc.h"

/* sc_user_hash - the two hash directory names of USER ("3f", "a0") */
void sc_user_hash(const char *user, char h1[3], char h2[3]);
/* sc_user_relpath - "=user/h1/h2/=<user>" */
char *sc_user_relpath(const char *user);
/* sc_user_dir - the user's directory on partition PATH */
char *sc_user_dir(const char *partition_path, const char *user);
/* sc_encode_component - a name component as a file name; NULL when it
 * cannot be one (too long) */
char *sc_encode_component(const char *s, size_t len);
/* sc_decode_component - the reverse (NULL when malformed) */
char *sc_decode_component(const char *s);
/* sc_folder_relpath - the folder's directory below the user directory
 * ("" for INBOX), for FOLDER in internal form (components separated by
 * SEP); NULL when a component cannot be a file name */
char *sc_folder_relpath(const char *folder, char sep);
/* sc_msg_relpath - "<uid>.msg" or "<bucket>/<uid>.msg" into BUF */
const char *sc_msg_relpath(uint32_t uid, uint32_t threshold, char buf[40]);
/* sc_msg_bucket - the hash subdirectory of UID (NULL below THRESHOLD) */
const char *sc_msg_bucket(uint32_t uid, uint32_t threshold, char buf[20]);
/* sc_is_msg_name - NAME is "<uid>.msg"; *uid_r set */
bool sc_is_msg_name(const char *name, uint32_t *uid_r);

#endif
