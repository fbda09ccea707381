// A static helper the suites put inside containers (busybox's date has no %N, and a shell loop cannot
// allocate memory at a known moment):
//   benchtool once FILE [CODE]   append "<realtime ns>\n" twice (start, end) to FILE, exit CODE
//   benchtool alloc FILE MIB     append a start stamp, then allocate and touch MIB MiB at a time until killed
//   benchtool spin [THREADS]     burn CPU on THREADS threads (default 1) until killed: more than one so a
//                                limit of 1 CPU or more can be reached, and exceeded if it does not hold
//   benchtool go GO FILE CMD [ARG...]  wait until the file GO exists (polled every 10 ms), append one
//                                stamp to FILE, exec CMD: the clock starts at the app's stamp for every tool
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void stamp(int fd) {
  struct timespec ts;
  char line[32];
  clock_gettime(CLOCK_REALTIME, &ts);
  int n = snprintf(line, sizeof line, "%lld%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
  // One write with O_APPEND: stamps of consecutive runs never interleave.
  if (write(fd, line, (size_t)n) != n) _exit(120);
}

static int open_stamps(const char *file) {
  int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    perror(file);
    _exit(121);
  }
  return fd;
}

static void *spin(void *unused) {
  (void)unused;
  volatile unsigned long x = 0;
  for (;;) x++;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "once") == 0) {
    int fd = open_stamps(argv[2]);
    stamp(fd);
    stamp(fd);
    _exit(argc >= 4 ? atoi(argv[3]) : 0);
  }
  if (argc >= 4 && strcmp(argv[1], "alloc") == 0) {
    size_t chunk = (size_t)atol(argv[3]) << 20;
    int fd = open_stamps(argv[2]);
    stamp(fd);
    close(fd);
    for (;;) {
      char *p = malloc(chunk);
      if (!p) _exit(122);
      memset(p, 1, chunk); // touched, so it is charged to the cgroup now
    }
  }
  if (argc >= 2 && strcmp(argv[1], "spin") == 0) {
    int threads = argc >= 3 ? atoi(argv[2]) : 1;
    if (threads < 1 || threads > 256) _exit(2);
    for (int i = 1; i < threads; i++) {
      pthread_t t;
      if (pthread_create(&t, NULL, spin, NULL) != 0) _exit(123);
    }
    spin(NULL);
  }
  if (argc >= 5 && strcmp(argv[1], "go") == 0) {
    const struct timespec tick = {0, 10 * 1000 * 1000};
    while (access(argv[2], F_OK) != 0) nanosleep(&tick, NULL);
    int fd = open_stamps(argv[3]);
    stamp(fd);
    close(fd);
    execvp(argv[4], argv + 4);
    perror(argv[4]);
    _exit(127);
  }
  fprintf(stderr, "usage: benchtool once FILE [CODE] | alloc FILE MIB | spin [THREADS] | go GO FILE CMD [ARG...]\n");
  return 2;
}
