/*
 * LD_PRELOAD shim that lets User-Mode Linux 6.1 (Debian's linux.uml) run on hosts whose FPU
 * state is larger than UML expects (AVX-512, AMX).
 *
 * UML saves and restores each guest thread's FPU state with PTRACE_{GET,SET}REGSET(NT_X86_XSTATE)
 * into a buffer sized for AVX (832 bytes). The host kernel answers a short SETREGSET with EFAULT:
 * it wants the whole XSAVE area. Without a fix the guest's init dies at boot ("ptrace set fp regs
 * failed, errno = 14"), and forcing UML's legacy FXSR fallback instead leaves the AVX-512 state
 * unswitched, which corrupts every guest process that uses it.
 *
 * The shim keeps, for each UML buffer, a full-size copy: GETREGSET fills it from the kernel and
 * hands UML its usual prefix; SETREGSET lays UML's (possibly edited) prefix over that copy and
 * writes the whole area back. A buffer UML never read (a new thread) gets its prefix over zeros,
 * which the kernel treats as the initial state of the features UML does not know about.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#define SLOTS 8192

struct slot {
  void *uml_buffer;
  unsigned char *full;
  int valid;
};

static struct slot slots[SLOTS];
static size_t full_size;
static long (*real_ptrace)(int, pid_t, void *, void *);

static struct slot *slot_for(void *uml_buffer) {
  size_t index = ((uintptr_t)uml_buffer >> 4) % SLOTS;
  for (size_t probe = 0; probe < SLOTS; probe++, index = (index + 1) % SLOTS) {
    struct slot *slot = &slots[index];
    if (slot->uml_buffer == uml_buffer) return slot;
    if (slot->uml_buffer == NULL) {
      slot->full = calloc(1, full_size);
      if (!slot->full) return NULL;
      slot->uml_buffer = uml_buffer;
      return slot;
    }
  }
  return NULL;
}

/* The kernel trims iov_len to the size of its XSAVE area, so one oversized read tells it. */
static size_t kernel_xstate_size(pid_t pid) {
  static unsigned char probe[1 << 16];
  struct iovec iov = {probe, sizeof probe};
  if (real_ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov) < 0) return 0;
  return iov.iov_len;
}

long ptrace(enum __ptrace_request request, ...) {
  va_list args;
  va_start(args, request);
  pid_t pid = va_arg(args, pid_t);
  void *addr = va_arg(args, void *);
  void *data = va_arg(args, void *);
  va_end(args);
  if (!real_ptrace) real_ptrace = (long (*)(int, pid_t, void *, void *))dlsym(RTLD_NEXT, "ptrace");

  int xstate = (request == PTRACE_GETREGSET || request == PTRACE_SETREGSET) && (uintptr_t)addr == NT_X86_XSTATE;
  if (!xstate) return real_ptrace(request, pid, addr, data);
  if (!full_size) full_size = kernel_xstate_size(pid);
  struct iovec *uml_iov = data;
  if (!full_size || uml_iov->iov_len >= full_size) return real_ptrace(request, pid, addr, data);

  struct slot *slot = slot_for(uml_iov->iov_base);
  if (!slot) return real_ptrace(request, pid, addr, data);
  struct iovec full_iov = {slot->full, full_size};
  if (request == PTRACE_GETREGSET) {
    long result = real_ptrace(request, pid, addr, &full_iov);
    if (result < 0) return result;
    memcpy(uml_iov->iov_base, slot->full, uml_iov->iov_len);
    slot->valid = 1;
    return result;
  }
  if (!slot->valid) memset(slot->full, 0, full_size);
  memcpy(slot->full, uml_iov->iov_base, uml_iov->iov_len);
  return real_ptrace(request, pid, addr, &full_iov);
}
