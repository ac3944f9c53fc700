import AffinityCore

/// Which parts of `since <= capturedAt < until` the rollups answer (whole hours) and which the captures do (the
/// partial hours at the ends, when the bounds are not on the hour).
public struct RollupRange {
    /// Buckets `lower <= bucket < upper` the rollups answer; nil when the range holds no whole hour.
    let buckets: (lower: Int64, upper: Int64)?
    /// `[from, to)` ranges of capture time read from the captures (for ids the rollups hold).
    let partial: [(from: Int64, to: Int64)]

    /// Bounds are clamped to ±2^60 ms (`far`: 36 million years), past any capture time, so the arithmetic below
    /// cannot overflow whatever a client sends; the captures selected are the same.
    public static let far = Int64(1) << 60

    init(since: Int64?, until: Int64?) {
        let far = Self.far
        let since = since.map { min(max($0, -far), far) }
        let until = until.map { min(max($0, -far), far) }
        let hour = RollupSQL.bucketMs
        let lower = since.map { Self.ceilDiv($0, hour) } ?? Int64.min
        let upper = until.map { Self.floorDiv($0, hour) } ?? Int64.max
        guard lower < upper else {
            buckets = nil
            partial = [(since ?? Int64.min, until ?? Int64.max)]
            return
        }
        buckets = (lower, upper)
        var partial: [(Int64, Int64)] = []
        if let since, lower * hour > since {
            partial.append((since, lower * hour))
        }
        if let until, upper * hour < until { partial.append((upper * hour, until)) }
        self.partial = partial
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && a < 0) ? q - 1 : q
    }

    static func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && a > 0) ? q + 1 : q
    }
}
