import AffinityCore

/// The autorouter algorithms an operator may pin (SPEC v2 "Algorithm overrides"), sent to TaaS as
/// `X-TaaS-Autorouter-Algorithm`.
public enum AutorouterAlgorithm: String, Sendable, Hashable, CaseIterable {
    case bestFit = "best_fit"
    case pricePerformance = "price_performance"
    case savingsCurve = "savings_curve"
    case cost, ttft, tps
}

/// One override as stored: the session's or agent's pinned algorithm, nil once cleared.
public struct AlgorithmOverride: Sendable, Hashable {
    public var selector: CaptureSelector
    public var algorithm: AutorouterAlgorithm?
    /// Milliseconds since the Unix epoch.
    public var updatedAt: Int64
    /// The change counter when this override last changed.
    public var version: Int64

    public init(selector: CaptureSelector, algorithm: AutorouterAlgorithm?, updatedAt: Int64, version: Int64) {
        self.selector = selector
        self.algorithm = algorithm
        self.updatedAt = updatedAt
        self.version = version
    }
}

/// What `setAlgorithm` did: the override now, and the algorithm it replaced.
public struct OverrideChange: Sendable, Hashable {
    public var current: AlgorithmOverride
    public var previous: AutorouterAlgorithm?

    public init(current: AlgorithmOverride, previous: AutorouterAlgorithm?) {
        self.current = current
        self.previous = previous
    }
}

/// Overrides in version order and the version a client has now seen (pass it as `sinceVersion` next).
public struct OverrideListing: Sendable, Hashable {
    public var overrides: [AlgorithmOverride]
    public var version: Int64

    public init(overrides: [AlgorithmOverride], version: Int64) {
        self.overrides = overrides
        self.version = version
    }
}

/// The bounds of the overrides table.
public enum OverrideLimits {
    /// Active (non-cleared) overrides at most: a pin is an operator's decision, not per-request data.
    public static let maxActive = 10_000
    /// Overrides in one `algorithms` answer; a client pages on with the answer's `version`.
    public static let maxListed = 10_000
}

extension CaptureSelector {
    /// What kind of subject the selector names: the `scope` column of an override or a budget.
    public var subjectKind: String {
        switch self {
        case .session: "session"
        case .agent: "agent"
        }
    }

    init?(subjectKind scope: String, subject: String) {
        switch scope {
        case "session": self = .session(subject)
        case "agent": self = .agent(subject)
        default: return nil
        }
    }
}

extension CaptureWriter {
    /// Pins (or, with nil, clears) the algorithm of a session or agent in one transaction.
    ///
    /// Setting what is already set changes nothing and bumps no version. A new pin past
    /// `OverrideLimits.maxActive` active ones is refused with `limitReached`.
    public func setAlgorithm(
        _ algorithm: AutorouterAlgorithm?, for selector: CaptureSelector, now: Int64
    ) throws(StoreError) -> OverrideChange {
        try connection.transaction(.immediate) { () throws(StoreError) -> OverrideChange in
            let existing = try override(selector)
            if let existing, existing.algorithm == algorithm {
                return OverrideChange(current: existing, previous: algorithm)
            }
            if algorithm != nil, existing?.algorithm == nil {
                let active = try connection.scalarInt("SELECT count(*) FROM algorithm_overrides WHERE algorithm IS NOT NULL") ?? 0
                if active >= OverrideLimits.maxActive {
                    throw StoreError(
                        code: .limitReached,
                        message: "at most \(OverrideLimits.maxActive) algorithm overrides may be active; clear some first")
                }
            }
            if existing == nil, algorithm == nil {
                // Clearing what was never set: nothing to remember, nothing for clients to follow.
                let version = try connection.scalarInt("SELECT coalesce(max(version), 0) FROM algorithm_overrides") ?? 0
                return OverrideChange(
                    current: AlgorithmOverride(selector: selector, algorithm: nil, updatedAt: now, version: version),
                    previous: nil)
            }
            let upsert = try connection.prepare(
                "INSERT INTO algorithm_overrides (scope, subject, algorithm, updated_at, version) "
                    + "VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(version), 0) + 1 FROM algorithm_overrides)) "
                    + "ON CONFLICT (scope, subject) DO UPDATE SET algorithm = excluded.algorithm, "
                    + "updated_at = excluded.updated_at, version = excluded.version RETURNING version")
            defer { upsert.reset() }
            try upsert.bind(selector.subjectKind, at: 1)
            try upsert.bind(selector.value, at: 2)
            try upsert.bind(algorithm?.rawValue, at: 3)
            try upsert.bind(now, at: 4)
            guard try upsert.step() else {
                throw StoreError(code: .internal, message: "the override upsert returned no version")
            }
            let version = upsert.int64(at: 0)
            return OverrideChange(
                current: AlgorithmOverride(selector: selector, algorithm: algorithm, updatedAt: now, version: version),
                previous: existing?.algorithm)
        }
    }

    private func override(_ selector: CaptureSelector) throws(StoreError) -> AlgorithmOverride? {
        let find = try connection.prepare(
            "SELECT algorithm, updated_at, version FROM algorithm_overrides WHERE scope = ?1 AND subject = ?2")
        defer { find.reset() }
        try find.bind(selector.subjectKind, at: 1)
        try find.bind(selector.value, at: 2)
        guard try find.step() else { return nil }
        return AlgorithmOverride(
            selector: selector, algorithm: find.optionalString(at: 0).flatMap(AutorouterAlgorithm.init(rawValue:)),
            updatedAt: find.int64(at: 1), version: find.int64(at: 2))
    }
}

extension CaptureReader {
    /// The active overrides (`sinceVersion` nil), or every change after `sinceVersion`, cleared ones included,
    /// in version order, at most `OverrideLimits.maxListed`; `version` is the last one listed, else the newest.
    public func algorithms(sinceVersion: Int64?) throws(StoreError) -> OverrideListing {
        try connection.transaction(.deferred) { () throws(StoreError) -> OverrideListing in
            let newest = try connection.scalarInt("SELECT coalesce(max(version), 0) FROM algorithm_overrides") ?? 0
            let filter = sinceVersion == nil ? "algorithm IS NOT NULL" : "version > ?1"
            let list = try connection.prepare(
                "SELECT scope, subject, algorithm, updated_at, version FROM algorithm_overrides WHERE \(filter) "
                    + "ORDER BY version LIMIT \(OverrideLimits.maxListed + 1)")
            defer { list.reset() }
            if let sinceVersion { try list.bind(sinceVersion, at: 1) }
            var overrides: [AlgorithmOverride] = []
            var more = false
            while try list.step() {
                if overrides.count == OverrideLimits.maxListed {
                    more = true
                    break
                }
                guard let selector = CaptureSelector(subjectKind: list.string(at: 0), subject: list.string(at: 1)) else {
                    continue
                }
                overrides.append(
                    AlgorithmOverride(
                        selector: selector, algorithm: list.optionalString(at: 2).flatMap(AutorouterAlgorithm.init(rawValue:)),
                        updatedAt: list.int64(at: 3), version: list.int64(at: 4)))
            }
            let version = more ? (overrides.last?.version ?? newest) : max(newest, sinceVersion ?? 0)
            return OverrideListing(overrides: overrides, version: version)
        }
    }
}
