/// A JSON value, just enough to patch a request payload; objects keep their key order.
///
/// Numbers are `Double`s, as in JavaScript. `==` compares objects as sets of members (key order
/// ignored, keys assumed unique), arrays in order, and strings by Unicode scalars as JavaScript does
/// (not by Swift's canonical equivalence).
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members in order; keys are expected to be unique.
    case object([(key: String, value: JSONValue)])

    /// The value of `key` when `self` is an object that has it (a member whose value is `null` is present).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { sameKey($0.key, key) })?.value
    }
}

extension JSONValue: Equatable {
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null):
            return true
        case (.bool(let a), .bool(let b)):
            return a == b
        case (.number(let a), .number(let b)):
            return a == b
        case (.string(let a), .string(let b)):
            return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.array(let a), .array(let b)):
            return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { member in b.contains(where: { sameKey($0.key, member.key) && $0.value == member.value }) }
        default:
            return false
        }
    }
}

private func sameKey(_ a: String, _ b: String) -> Bool {
    a.unicodeScalars.elementsEqual(b.unicodeScalars)
}
