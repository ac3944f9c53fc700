/// Command-line options of the benchmark: `--rows N --sessions N --agents N --batch N --dir PATH`.
struct BenchOptions {
    var rows = 1_000_000
    var sessions = 10_000
    var agents = 100
    var batchSize = 256
    var readSamples = 20_000
    var directory: String?

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw BenchError("missing value for \(flag)") }
            switch flag {
            case "--dir": directory = value
            case "--rows": rows = try Self.number(flag, value)
            case "--sessions": sessions = try Self.number(flag, value)
            case "--agents": agents = try Self.number(flag, value)
            case "--batch": batchSize = try Self.number(flag, value)
            case "--samples": readSamples = try Self.number(flag, value)
            default: throw BenchError("unknown option \(flag)")
            }
        }
    }

    private static func number(_ flag: String, _ value: String) throws -> Int {
        guard let number = Int(value), number > 0 else { throw BenchError("\(flag) needs a positive integer") }
        return number
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
