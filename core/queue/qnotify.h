/*
 * qnotify.h - telling the job controller about new queue files
 *
 * The job controller listens on a UNIX datagram socket,
 * RUN_DIR/job_controller.sock.  Every process that enqueues sends one
 * datagram per new queue file, fire and forget: when nobody listens (the
 * job controller is down or restarting) the datagram is dropped, which is
 * harmless because the job controller rebuilds its view from the queue
 * directories when it starts.  docs/queue-format.md gives the format:
 *
 *   "Q1 NEW <channel> <rel-path> <priority> <size> [<recipients>]\n"
 *   "Q1 RUN <channel or domain>\n"          (ETRN and `cursus` tools)
 *
 * Fields are separated by single spaces; channel names and queue paths
 * contain no white space.  At most QNOTIFY_MAX bytes.
 */
#ifndef CURSUS_QNOTIFY_H
#define CURSUS_QNOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <cursus/channel.h>

#define QNOTIFY_SOCKET "job_controller.sock"
#define QNOTIFY_MAX 512

typedef enum qnotify_type {
  QNOTIFY_NEW = 1, /* a new queue file */
  QNOTIFY_RUN = 2, /* process this channel (or domain) now */
} qnotify_type;

typedef struct qnotify_msg {
  qnotify_type type;
  char channel[256]; /* channel, or for RUN a channel or domain */
  char path[256];    /* NEW: path relative to queue_dir */
  cursus_priority priority;
  uint64_t size;
  unsigned rcpts; /* NEW: recipients in the file; 0 = not said */
} qnotify_msg;

/* qnotify_set_run_dir - where the socket is (per process, once) */
void qnotify_set_run_dir(const char *run_dir);
/* qnotify_new - tell about a new file of RCPTS recipients (0: not
 * known); waits at most 200 ms for room in the job controller's receive
 * queue, never fails */
void qnotify_new(const char *channel, const char *rel_path,
                 cursus_priority priority, uint64_t size, unsigned rcpts);
/* qnotify_run - ask for a run of TARGET (a channel or a domain) */
void qnotify_run(const char *target);

/* qnotify_format - the datagram for MSG into OUT; its length, 0 when a
 * field does not fit */
size_t qnotify_format(const qnotify_msg *msg, char out[QNOTIFY_MAX]);
/* qnotify_parse - read a datagram; false when malformed */
bool qnotify_parse(const char *buf, size_t len, qnotify_msg *msg_r);
/* qnotify_listen - the job controller's socket (non-blocking); -1 with
 * *error_r (allocated) on failure */
int qnotify_listen(const char *run_dir, char **error_r);

#endif
