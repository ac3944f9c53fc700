/// Why the service could not start; `message` is one line meant for the operator.
public struct StartupError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem it was.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let alreadyRunning = Code(name: "alreadyRunning")
        public static let socketPathTooLong = Code(name: "socketPathTooLong")
        public static let socketInUse = Code(name: "socketInUse")
        public static let notASocket = Code(name: "notASocket")
        public static let filesystem = Code(name: "filesystem")
        public static let storage = Code(name: "storage")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
