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
public struct JSONObject: Sendable, Hashable {
    /// Keys in first-seen order, each once.
    public private(set) var keys: [String] = []
    private var storage: [String: JSON] = [:]

    public init() {}

    /// Builds an object from pairs; a repeated key keeps its first position and takes the last value.
    public init(_ pairs: KeyValuePairs<String, JSON>) {
        for (k, v) in pairs { self[k] = v }
    }

    /// The number of distinct keys.
    public var count: Int { keys.count }

    /// The value for `key`; setting nil removes the key.
    public subscript(key: String) -> JSON? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Key/value pairs in key order.
    public var entries: [(key: String, value: JSON)] {
        keys.map { ($0, storage[$0]!) }
    }
}
