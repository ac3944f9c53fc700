/// A JSON value: the one type the service's requests, the CLI and the payload patching all use.
///
/// Numbers written without a fraction or exponent that fit in 64 bits are `.int`; every other number
/// is `.double`. Objects keep their keys in first-seen order; a repeated key keeps its first position
/// and takes the last value (RFC 8259 leaves duplicates undefined; "last wins" is what JavaScript does).
///
/// Equality is JavaScript's, as the plugin (Node's `assert.deepStrictEqual`) sees it: strings and keys
/// compare by Unicode scalars (`"\u{E9}"` and `"e\u{301}"` differ, unlike Swift's `String ==`), objects
/// compare as sets of members (key order ignored), arrays in order, `.int(1)` and `.double(1)` differ.
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

    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.string(let a), .string(let b)): ScalarKey.sameScalars(a, b)
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(1); hasher.combine(b)
        case .int(let i): hasher.combine(2); hasher.combine(i)
        case .double(let d): hasher.combine(3); hasher.combine(d)
        case .string(let s): hasher.combine(4); ScalarKey(s).hash(into: &hasher)
        case .array(let a): hasher.combine(5); hasher.combine(a)
        case .object(let o): hasher.combine(6); hasher.combine(o)
        }
    }
}

/// A string compared and hashed by its Unicode scalars (its UTF-8 bytes), as JavaScript compares
/// strings and object keys and SQLite's BINARY collation compares text, rather than by Swift's canonical
/// equivalence (under which two distinct stored ids can be equal).
public struct ScalarKey: Hashable, Sendable {
    public let string: String
    public init(_ string: String) { self.string = string }

    public static func == (lhs: ScalarKey, rhs: ScalarKey) -> Bool { sameScalars(lhs.string, rhs.string) }

    /// Byte equality of the UTF-8, with the O(1) length check first: most keys differ in length.
    static func sameScalars(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a.utf8.elementsEqual(b.utf8)
    }

    /// Byte order of the UTF-8: SQLite's `ORDER BY` on text.
    public static func precedes(_ a: ScalarKey, _ b: ScalarKey) -> Bool {
        a.string.utf8.lexicographicallyPrecedes(b.string.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(string.utf8.count)
        for byte in string.utf8 { hasher.combine(byte) }
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
    public struct Member: Sendable {
        public var key: String
        public var value: JSON
    }

    /// Members in first-seen key order, each key once (keys compared by Unicode scalars).
    public private(set) var members: [Member] = []
    /// Positions by key, only once the object is large; derived from `members`.
    private var index: [ScalarKey: Int]?
    private static let indexThreshold = 16

    public init() {}

    /// Builds an object from pairs; a repeated key keeps its first position and takes the last value.
    public init(_ pairs: KeyValuePairs<String, JSON>) {
        for (k, v) in pairs { self[k] = v }
    }

    /// Builds an object from pairs in order; a repeated key keeps its first position and takes the last value.
    public init(_ pairs: [(key: String, value: JSON)]) {
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
                index?[ScalarKey(key)] = members.count - 1
                buildIndexIfLarge()
            }
        }
    }

    private func position(of key: String) -> Int? {
        if let index { return index[ScalarKey(key)] }
        return members.firstIndex { ScalarKey.sameScalars($0.key, key) }
    }

    private mutating func buildIndexIfLarge() {
        guard index == nil, members.count > Self.indexThreshold else { return }
        var built: [ScalarKey: Int] = [:]
        built.reserveCapacity(members.count * 2)
        for (i, member) in members.enumerated() { built[ScalarKey(member.key)] = i }
        index = built
    }

    /// The same keys with equal values, in any order (JavaScript's deep equality of objects).
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        return lhs.members.allSatisfy { member in rhs[member.key] == member.value }
    }

    /// Independent of member order, as `==` is.
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for member in members {
            var memberHasher = Hasher()
            ScalarKey(member.key).hash(into: &memberHasher)
            memberHasher.combine(member.value)
            combined = combined &+ memberHasher.finalize()
        }
        hasher.combine(members.count)
        hasher.combine(combined)
    }
}
