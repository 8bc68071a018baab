/*
 * qconfig.h - the queue's part of the configuration
 *
 * Reads [queue] and [mta] of cursus.conf and the queue keywords of
 * imta.cnf channels (subdirs, blocklimit, sourceblocklimit, noblocklimit,
 * logging), checks them for `cursus config check` (a hook of
 * config_load), and sets a process up to write queue files: the
 * committer, the message log and the job controller's socket.
 */
#ifndef CURSUS_QCONFIG_H
#define CURSUS_QCONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include "config/config.h"
#include "qwrite.h"

typedef struct queue_settings {
  qwrite_sync sync;
  size_t spill_size;
  unsigned batch_max;
  unsigned block_size;
  uint64_t block_limit;  /* blocks; 0 = none */
  unsigned max_received; /* hop count limit */
} queue_settings;

/* queue_config_register - add the queue's checks to config_load (once,
 * before any configuration is loaded) */
void queue_config_register(void);
/* queue_settings_read - the settings of CFG */
void queue_settings_read(const config *cfg, queue_settings *out);
/* queue_channel_subdirs - the channel's `subdirs` (1 = none) */
unsigned queue_channel_subdirs(const cnf_channel *ch);
/* queue_channel_limit - the largest message CH takes, in bytes, as the
 * destination or (AS_SOURCE) as the source channel, within [mta]
 * block_limit; 0 = no limit */
uint64_t queue_channel_limit(const config *cfg, const cnf_channel *ch,
                             bool as_source);
/* queue_channel_logging - CH writes message log lines */
bool queue_channel_logging(const cnf_channel *ch);
/* queue_process_setup - make this process able to enqueue with CFG:
 * committer settings, message log, job controller socket; again after a
 * refresh.  False with *error_r when the message log cannot be opened. */
bool queue_process_setup(const config *cfg, char **error_r);

#endif
