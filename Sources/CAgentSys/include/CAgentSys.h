// CAgentSys: the few Linux process-control calls the agent needs that Swift cannot make itself
// (prctl is variadic). Each is a small prefixed `static inline` function; on other systems they
// report ENOSYS and the agent goes on without them.
#ifndef CAGENTSYS_H
#define CAGENTSYS_H

#include <errno.h>
#if defined(__linux__)
#include <sys/prctl.h>
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

#endif
