// TAGS: tls, threads
// A _Thread_local variable read and written by 8 threads at once: each starts from the
// initial value and sees only its own writes.
#include <pthread.h>
#include <stdio.h>

#define THREADS 8
#define ROUNDS 100000

static _Thread_local long counter = 42;
_Thread_local int tag = 7;
static pthread_barrier_t start;

static void *work(void *arg) {
    long id = (long)arg;
    long bad = 0;
    if (counter != 42 || tag != 7)
        bad += 1;
    pthread_barrier_wait(&start);
    tag = (int)id;
    for (long i = 0; i < ROUNDS; ++i) {
        counter += id;
        if (tag != id)
            bad += 1;
    }
    if (counter != 42 + id * ROUNDS)
        bad += 1;
    return (void *)bad;
}

int main(void) {
    pthread_t threads[THREADS];
    pthread_barrier_init(&start, NULL, THREADS);
    for (long i = 0; i < THREADS; ++i)
        if (pthread_create(&threads[i], NULL, work, (void *)(i + 1)) != 0)
            return 2;
    long bad = 0;
    for (int i = 0; i < THREADS; ++i) {
        void *result;
        pthread_join(threads[i], &result);
        bad += (long)result;
    }
    printf("%d threads, %ld wrong values; main's counter %ld, tag %d\n", THREADS, bad, counter,
           tag);
    return bad == 0 && counter == 42 && tag == 7 ? 0 : 1;
}
