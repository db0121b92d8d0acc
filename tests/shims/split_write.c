/* LD_PRELOAD shim for the record-lock tests: makes an unlocked append lose
 * every time instead of once in twenty tries, with no timing guesswork.
 *
 *   HPCB_SPLIT_WRITE_PATH=<file>  writes to this file (by its /proc/self/fd
 *                                 name) are split in two halves;
 *   HPCB_SHIM_WAIT_FOR=<flag>     (writer A) between the halves, wait until the
 *                                 file <flag> exists (at most 60 s);
 *   HPCB_SHIM_SIGNAL=<flag>       (writer B) create <flag> when a lock request
 *                                 would block, or after a split write;
 *   HPCB_SHIM_NO_LOCK=1           fcntl(F_SETLK/F_SETLKW) and flock() succeed
 *                                 without locking: the planted bug.
 *   HPCB_SHIM_LOCK_ERRNO=ENOLCK   (or ENOSYS, EINVAL, EOPNOTSUPP) lock requests
 *                                 fail with that errno, as on a Lustre mount
 *                                 without flock: the records-spool tests; only
 *                                 on the file HPCB_SHIM_LOCK_PATH when it is set
 *                                 (the input files then lock as usual: HDF5
 *                                 locks them too).
 *
 * So A leaves a partial line in the file and holds still until B has either
 * queued behind A's lock (correct: A finishes, then B) or written its line
 * (broken lock: B's line lands inside A's). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* Whether fd is the file named by the environment variable `var`. */
static int is_file(int fd, const char* var) {
  const char* want = getenv(var);
  if (want == NULL || *want == '\0') return 0;
  char link[64], path[PATH_MAX], real_want[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0) return 0;
  path[n] = '\0';
  if (realpath(want, real_want) == NULL) return strcmp(path, want) == 0;
  return strcmp(path, real_want) == 0;
}

static int is_target(int fd) { return is_file(fd, "HPCB_SPLIT_WRITE_PATH"); }

static void wait_for_flag(void) {
  const char* flag = getenv("HPCB_SHIM_WAIT_FOR");
  if (flag == NULL || *flag == '\0') return;
  for (int i = 0; i < 6000 && access(flag, F_OK) != 0; ++i) {
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

static void raise_flag(void) {
  const char* flag = getenv("HPCB_SHIM_SIGNAL");
  if (flag == NULL || *flag == '\0') return;
  int fd = open(flag, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
}

ssize_t write(int fd, const void* buf, size_t count) {
  static ssize_t (*real_write)(int, const void*, size_t);
  if (real_write == NULL) real_write = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  if (count < 2 || !is_target(fd)) return real_write(fd, buf, count);
  const size_t half = count / 2;
  ssize_t first = real_write(fd, buf, half);
  if (first != (ssize_t)half) return first;
  wait_for_flag();
  ssize_t second = real_write(fd, (const char*)buf + half, count - half);
  raise_flag();
  return second < 0 ? first : first + second;
}

static int no_lock(void) {
  const char* v = getenv("HPCB_SHIM_NO_LOCK");
  return v != NULL && strcmp(v, "1") == 0;
}

static int is_set_lock(int cmd) {
  return cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
}

/* The errno a lock request on fd fails with (HPCB_SHIM_LOCK_ERRNO), or 0. */
static int refused_lock(int fd) {
  const char* v = getenv("HPCB_SHIM_LOCK_ERRNO");
  if (v == NULL || *v == '\0') return 0;
  const char* only = getenv("HPCB_SHIM_LOCK_PATH");
  if (only != NULL && *only != '\0' && !is_file(fd, "HPCB_SHIM_LOCK_PATH")) return 0;
  if (strcmp(v, "ENOLCK") == 0) return ENOLCK;
  if (strcmp(v, "ENOSYS") == 0) return ENOSYS;
  if (strcmp(v, "EINVAL") == 0) return EINVAL;
  if (strcmp(v, "EOPNOTSUPP") == 0) return EOPNOTSUPP;
  return 0;
}

/* A blocking lock request: tell writer A (through the flag) before blocking. */
static int lock_request(int (*real)(int, int, ...), int fd, int cmd, void* arg) {
  if (refused_lock(fd) && is_set_lock(cmd)) {
    errno = refused_lock(fd);
    return -1;
  }
  if (no_lock() && is_set_lock(cmd)) return 0;
  if (cmd == F_SETLKW || cmd == F_OFD_SETLKW) {
    const int try_cmd = cmd == F_SETLKW ? F_SETLK : F_OFD_SETLK;
    if (real(fd, try_cmd, arg) == 0) return 0;
    raise_flag();
  }
  return real(fd, cmd, arg);
}

int fcntl(int fd, int cmd, ...) {
  static int (*real_fcntl)(int, int, ...);
  if (real_fcntl == NULL) real_fcntl = (int (*)(int, int, ...))dlsym(RTLD_NEXT, "fcntl");
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return lock_request(real_fcntl, fd, cmd, arg);
}

/* glibc's 64-bit-offset entry point, which some callers reach instead of fcntl. */
int fcntl64(int fd, int cmd, ...) {
  static int (*real_fcntl64)(int, int, ...);
  if (real_fcntl64 == NULL) real_fcntl64 = (int (*)(int, int, ...))dlsym(RTLD_NEXT, "fcntl64");
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return lock_request(real_fcntl64, fd, cmd, arg);
}

int flock(int fd, int op) {
  static int (*real_flock)(int, int);
  if (real_flock == NULL) real_flock = (int (*)(int, int))dlsym(RTLD_NEXT, "flock");
  if (refused_lock(fd)) {
    errno = refused_lock(fd);
    return -1;
  }
  if (no_lock()) return 0;
  if (!(op & LOCK_NB)) {
    if (real_flock(fd, op | LOCK_NB) == 0) return 0;
    raise_flag();
  }
  return real_flock(fd, op);
}
