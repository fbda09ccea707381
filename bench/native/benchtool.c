// A static helper the suites put inside containers (busybox's date has no %N, and a shell loop cannot
// allocate memory at a known moment):
//   benchtool once FILE [CODE]   append "<realtime ns>\n" twice (start, end) to FILE, exit CODE
//   benchtool alloc FILE MIB     append a start stamp, then allocate and touch MIB MiB at a time until killed
//   benchtool spin               burn CPU until killed
#define _GNU_SOURCE
#include <fcntl.h>
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
    volatile unsigned long x = 0;
    for (;;) x++;
  }
  fprintf(stderr, "usage: benchtool once FILE [CODE] | alloc FILE MIB | spin\n");
  return 2;
}
