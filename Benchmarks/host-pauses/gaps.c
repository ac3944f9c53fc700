/* Reads the monotonic clock in a busy loop for SECONDS and reports every gap longer than 4 ms: time in which
 * this thread did not run although it never gave up its CPU (preemption, or the host pausing the machine).
 * Prints one line: gaps, longest gap in ms, and the phase (ms within a 100 ms period) of the longest. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 6;
    double start = now(), previous = start, worst = 0, worstAt = 0;
    int gaps = 0;
    for (;;) {
        double t = now(), gap = t - previous;
        if (gap > 0.004) gaps++;
        if (gap > worst) { worst = gap; worstAt = t; }
        previous = t;
        if (t - start > seconds) break;
    }
    printf("gaps_over_4ms=%d longest_ms=%.1f phase_ms=%.1f\n", gaps, worst * 1e3, fmod(worstAt * 1e3, 100));
    return 0;
}
