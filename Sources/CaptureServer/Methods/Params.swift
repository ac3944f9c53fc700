import AffinityCore
import CaptureStore

/// Typed access to a request's `params` object; every failure is a -32602 naming the field.
///
/// Absent and `null` both mean "not given" for optional parameters. Unknown members are ignored.
struct Params {
    let object: JSONObject

    /// `params` must be an object or absent (absent is `{}`); positional (array) params are refused.
    init(_ value: JSON?) throws(RPCError) {
        switch value {
        case nil, .null?: object = JSONObject()
        case .object(let o)?: object = o
        case .some(let other): throw .invalidParams("params", "must be an object, not \(other.typeName)")
        }
    }

    /// A bounded identity (trimmed), or nil when absent.
    func identity(_ key: String) throws(RPCError) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .string(let s) = value else { throw .invalidParams(key, "must be a string") }
        guard let bounded = BoundedIdentity.normalize(s) else {
            throw .invalidParams(key, "must be 1-200 characters after trimming, without control characters")
        }
        return bounded
    }

    /// A string, unvalidated, or nil when absent.
    func string(_ key: String) throws(RPCError) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .string(let s) = value else { throw .invalidParams(key, "must be a string") }
        return s
    }

    /// An integer within `range`, or nil when absent.
    func integer(_ key: String, in range: ClosedRange<Int64>) throws(RPCError) -> Int64? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let i = value.integerValue else { throw .invalidParams(key, "must be an integer") }
        guard range.contains(i) else {
            throw .invalidParams(key, "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return i
    }

    /// A token count, 0…2^53−1, or nil when absent.
    func tokenCount(_ key: String) throws(RPCError) -> Int64? {
        try integer(key, in: 0...CallUsage.maxTokens)
    }

    /// A finite number within `range`, or nil when absent.
    func number(_ key: String, in range: ClosedRange<Double>) throws(RPCError) -> Double? {
        guard let value = object[key], !value.isNull else { return nil }
        let number: Double
        switch value {
        case .int(let i): number = Double(i)
        case .double(let d): number = d
        default: throw .invalidParams(key, "must be a number")
        }
        guard range.contains(number) else {
            throw .invalidParams(key, "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    /// `stats`' `groupBy` (agent, session or model) and `limit` (1–1000, default 50); nil when not grouped.
    func statsGrouping() throws(RPCError) -> (StatsGrouping, Int)? {
        let names = StatsGrouping.allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = try string("groupBy") else {
            if object["limit"].map({ !$0.isNull }) ?? false { throw .invalidParams("limit", "needs groupBy") }
            return nil
        }
        guard let grouping = StatsGrouping(rawValue: name) else { throw .invalidParams("groupBy", "must be one of \(names)") }
        let limits = Int64(StatsGroup.limits.lowerBound)...Int64(StatsGroup.limits.upperBound)
        let limit = try integer("limit", in: limits) ?? Int64(StatsGroup.defaultLimit)
        return (grouping, Int(limit))
    }

    /// A boolean, or nil when absent.
    func bool(_ key: String) throws(RPCError) -> Bool? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .bool(let b) = value else { throw .invalidParams(key, "must be a boolean") }
        return b
    }

    /// An object, or nil when absent.
    func object(_ key: String) throws(RPCError) -> JSONObject? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .object(let o) = value else { throw .invalidParams(key, "must be an object") }
        return o
    }
}
