/*
 * rwlock.h — a read-write lock that lets a waiting writer in. glibc's
 * default prefers readers, so a steady stream of readers (searches,
 * requests) would keep a writer (an upsert, a stop hook) waiting forever.
 */
#ifndef LH_RWLOCK_H
#define LH_RWLOCK_H

#include <pthread.h>

/* pthread_rwlock_init with writers preferred; destroy as usual. */
void lh_rwlock_init(pthread_rwlock_t *rw);

#endif
