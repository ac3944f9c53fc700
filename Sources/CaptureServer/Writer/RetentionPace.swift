/// How much of the writer's time a prune in the service may take: half. After each chunk the writer serves
/// records alone for as long as the chunk took (what arrives meanwhile commits at once; the pause only keeps the
/// next chunk back), so a long prune leaves the event loops a core to answer on.
///
/// Measured on the 2-core machine (BENCHMARKS.md "The prune stall"): unpaced, a prune of 1,000,000 rows beside a
/// lastRoute client in a closed loop kept both cores busy while the disk was written, and the host paused the
/// whole machine for 20–35 ms every 100 ms. lastRoute's longest answer was 33–36 ms, 71–105 over 20 ms; at half
/// the writer's time, 22–26 ms and 2–7 over 20 ms, for a prune 1.4× as long. On a host that did not pause, 14–15 ms
/// unpaced and 8.6–10.1 ms paced, for a prune 1.5–1.7× as long.
/// The CLI's `taas-capture prune` is not paced: an operator runs it to be done.
enum RetentionPace {
    /// The share of the writer's time a running prune may take.
    static let share = 0.5

    /// The longest pause: a chunk slowed by a lock another process held (up to the busy timeout) must not hold
    /// back the rest of the prune, and the jobs queued behind it, for as long again.
    static let longestPause = Duration.milliseconds(250)

    /// How long the writer serves records alone after a chunk that took `chunk`.
    static func pause(after chunk: Duration) -> Duration {
        guard chunk > .zero else { return .zero }
        return min(chunk * ((1 - share) / share), longestPause)
    }
}
