/// A parsed JSON value.
///
/// Numbers written without a fraction or exponent that fit in 64 bits are `.int`; every other number
/// is `.double`. Objects keep their keys in first-seen order; a repeated key keeps its first position
/// and takes the last value (RFC 8259 leaves duplicates undefined; "last wins" is what JavaScript does).
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The object, when this is one.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The array, when this is one.
    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The boolean, when this is one.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The number as an exact integer: an `.int`, or a `.double` that is integral and exactly
    /// representable (|x| ≤ 2^53), so `1.7e12` is accepted where an integer is expected.
    public var integerValue: Int64? {
        switch self {
        case .int(let i):
            return i
        case .double(let d):
            guard d.rounded(.towardZero) == d, abs(d) <= 9_007_199_254_740_992 else { return nil }
            return Int64(d)
        default:
            return nil
        }
    }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The JSON type name, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Looks up `key` when this is an object.
    public subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}

/// A JSON object that remembers the order in which keys first appeared.
///
/// Members live in one array searched linearly: request objects have a handful of keys, and a scan
/// of a few short strings is cheaper than hashing every key into a Dictionary (which showed in the
/// profile of `record`). Past `indexThreshold` members a key → position index is built, so a
/// hostile line with thousands of keys still parses in linear time.
public struct JSONObject: Sendable, Hashable {
    /// One key and its value.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSON
    }

    /// Members in first-seen key order, each key once.
    public private(set) var members: [Member] = []
    /// Positions by key, only once the object is large; derived from `members`.
    private var index: [String: Int]?
    private static let indexThreshold = 16

    public init() {}

    /// Builds an object from pairs; a repeated key keeps its first position and takes the last value.
    public init(_ pairs: KeyValuePairs<String, JSON>) {
        for (k, v) in pairs { self[k] = v }
    }

    /// The number of distinct keys.
    public var count: Int { members.count }

    /// Keys in first-seen order, each once.
    public var keys: [String] { members.map(\.key) }

    /// Key/value pairs in key order.
    public var entries: LazyMapSequence<[Member], (key: String, value: JSON)> {
        members.lazy.map { ($0.key, $0.value) }
    }

    /// The value for `key`; setting nil removes the key.
    public subscript(key: String) -> JSON? {
        get { position(of: key).map { members[$0].value } }
        set {
            if let at = position(of: key) {
                if let newValue {
                    members[at].value = newValue
                } else {
                    members.remove(at: at)
                    index = nil
                    buildIndexIfLarge()
                }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
                index?[key] = members.count - 1
                buildIndexIfLarge()
            }
        }
    }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return members.firstIndex { $0.key == key }
    }

    private mutating func buildIndexIfLarge() {
        guard index == nil, members.count > Self.indexThreshold else { return }
        var built: [String: Int] = [:]
        built.reserveCapacity(members.count * 2)
        for (i, member) in members.enumerated() { built[member.key] = i }
        index = built
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool { lhs.members == rhs.members }

    public func hash(into hasher: inout Hasher) { hasher.combine(members) }
}
