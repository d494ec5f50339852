/*
 * rwlock.c — see rwlock.h. PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP is
 * glibc's (the only libc this runs on; the build defines _GNU_SOURCE).
 * Read locks must then not be taken recursively, which no caller does.
 */
#include "bus/rwlock.h"

void lh_rwlock_init(pthread_rwlock_t *rw)
{
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(rw, &attr);
    pthread_rwlockattr_destroy(&attr);
}
