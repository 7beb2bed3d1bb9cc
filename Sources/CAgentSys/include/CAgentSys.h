// CAgentSys: the few Linux process-control calls the agent needs that Swift cannot make itself
// (prctl is variadic). Each is a small prefixed `static inline` function; on other systems they
// report ENOSYS and the agent goes on without them.
#ifndef CAGENTSYS_H
#define CAGENTSYS_H

#include <errno.h>
#if defined(__linux__)
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

/// Makes this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER).
/// 0 on success, -1 with errno set otherwise.
static inline int ccb_set_child_subreaper(void) {
#if defined(__linux__)
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/// 1 when this process is a child subreaper, 0 when not, -1 with errno set on failure.
static inline int ccb_is_child_subreaper(void) {
#if defined(__linux__)
    int value = 0;
    if (prctl(PR_GET_CHILD_SUBREAPER, &value, 0, 0, 0) != 0) return -1;
    return value != 0;
#else
    errno = ENOSYS;
    return -1;
#endif
}

#if defined(__linux__)
/// Closes every descriptor from `first` on except `keep` (close_range(2), else one by one up to
/// the descriptor limit, at most 65536). Async-signal-safe.
static inline void ccb_close_from(int first, int keep) {
#if defined(SYS_close_range)
    if (keep < first) {
        if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0) return;
    } else if ((keep == first || syscall(SYS_close_range, (unsigned)first, (unsigned)keep - 1, 0) == 0)
               && syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0) == 0) {
        return;
    }
#endif
    struct rlimit limit;
    long last = 65536;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && (long)limit.rlim_cur < last) {
        last = (long)limit.rlim_cur;
    }
    for (long fd = first; fd < last; fd++) {
        if (fd != keep) close((int)fd);
    }
}

/// fork + execvp for a child of the agent (posix_spawn cannot set a parent-death signal):
/// its own process group; SIGKILL when the agent dies, even of SIGKILL (PR_SET_PDEATHSIG);
/// SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGQUIT at their defaults and no signal blocked; stdin
/// from `stdin_fd` (/dev/null when -1), stdout and stderr to `out_fd`, and no other descriptor
/// (not even one the agent inherited without close-on-exec). Between fork and exec the
/// child calls only async-signal-safe functions. Returns the pid, or -1 with errno set (from
/// fork, or from exec in the child, reported through a close-on-exec pipe).
static inline pid_t ccb_spawn_child(const char *file, char *const argv[], int stdin_fd, int out_fd) {
    int report[2];
    if (pipe(report) != 0) return -1;
    fcntl(report[0], F_SETFD, FD_CLOEXEC);
    fcntl(report[1], F_SETFD, FD_CLOEXEC);
    sigset_t all, saved;
    sigfillset(&all);
    // No signal handler of the agent may run in the child (it would write to the agent's pipes).
    sigprocmask(SIG_SETMASK, &all, &saved);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        int error = 0;
        close(report[0]);
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != parent) _exit(127);  // the agent died before prctl
        struct sigaction fallback;
        memset(&fallback, 0, sizeof fallback);
        fallback.sa_handler = SIG_DFL;
        const int defaults[] = { SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGQUIT };
        for (unsigned i = 0; i < sizeof defaults / sizeof defaults[0]; i++) sigaction(defaults[i], &fallback, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, 0);
        int input = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);
        if (input >= 0 && dup2(input, 0) >= 0 && dup2(out_fd, 1) >= 0 && dup2(out_fd, 2) >= 0) {
            ccb_close_from(3, report[1]);
            execvp(file, argv);
        }
        error = errno;
        (void)!write(report[1], &error, sizeof error);
        _exit(127);
    }
    int fork_error = errno;
    sigprocmask(SIG_SETMASK, &saved, 0);
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        errno = fork_error;
        return -1;
    }
    int error = 0;
    ssize_t n;
    do { n = read(report[0], &error, sizeof error); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof error) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        errno = error;
        return -1;
    }
    return pid;
}
#endif

#endif
