/*
 * transact.h - one mail transaction on an open client connection
 *
 * MAIL, RCPT for each recipient and DATA (or BDAT for BINARYMIME), all in
 * one write when the server pipelines; with the DSN parameters passed on
 * when the server does DSN; SIZE, BODY and SMTPUTF8 as the message needs.
 * LMTP reads one reply per accepted recipient after the data.  Every
 * recipient ends with a result.
 */
#ifndef SMTP_TRANSACT_H
#define SMTP_TRANSACT_H

#include <cursus/channel.h>
#include "client.h"

/* What the transaction needs to know of the message. */
typedef struct tx_message {
  const char *sender; /* "" = null sender */
  const char *envid;
  cursus_ret ret;
  cursus_body body;
  bool smtputf8;
  int fd;
  uint64_t offset, size;
} tx_message;

/* The outcome for one recipient. */
typedef struct tx_result {
  int status;    /* CURSUS_OK, TEMPFAIL, PERMFAIL; NONE = not yet known */
  char code[16]; /* enhanced status                                    */
  char *text;    /* "550 5.1.1 <x@y>: no such user (in reply to RCPT)" */
  char remote[256]; /* the server that answered (its host name), or ""   */
  bool dsn_passed;  /* the server does DSN: it reports success from now  */
} tx_result;

typedef enum tx_outcome {
  TX_DONE = 0,      /* every recipient has a result                     */
  TX_NEXT_HOST,     /* nothing happened: try the next host (*why_r)     */
} tx_outcome;

/* transact - run the transaction for the N recipients RCPTS on C,
 * filling RESULTS.  TX_NEXT_HOST when the server refused the transaction
 * temporarily before any recipient (MAIL 4xx, connection lost): RESULTS
 * are then untouched and WHY_R (allocated) holds the reason. */
tx_outcome transact(client_conn *c, const tx_message *m,
                    const cursus_recipient *const *rcpts, size_t n,
                    tx_result *results, char **why_r);

/* tx_result_set - set one result (TEXT copied) */
void tx_result_set(tx_result *r, int status, const char *code,
                   const char *text);

#endif
