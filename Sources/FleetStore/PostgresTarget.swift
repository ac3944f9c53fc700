#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOSSL
import PostgresNIO

/// Where the fleet's PostgreSQL is, from a libpq-style URL (https://www.postgresql.org/docs/15/libpq-connect.html):
/// `postgresql://user[:password]@host[:port]/db?sslmode=…&sslrootcert=…` or `postgresql://user@/db?host=/socket/dir`.
///
/// The password comes from the URL or from `~/.pgpass` (`PGPASSFILE`), read as libpq reads it. It never leaves
/// this value except into the connection's configuration: `description` (what logs, `health` and errors
/// show) names user, host, port and database only.
public struct PostgresTarget: Sendable, CustomStringConvertible {
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        /// The directory holding `.s.PGSQL.<port>`.
        case socket(directory: String, port: Int)
    }

    /// libpq's `sslmode`; `allow` is treated as `prefer`.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var endpoint: Endpoint
    public var user: String
    public var database: String
    public var sslMode: SSLMode
    /// A PEM file of the certificates that may sign the server's (`sslrootcert`), for verify-ca / verify-full.
    public var sslRootCert: String?
    var password: String?

    public var description: String {
        switch endpoint {
        case .tcp(let host, let port):
            let shown = host.contains(":") ? "[\(host)]" : host
            return "postgresql://\(user)@\(shown):\(port)/\(database)"
        case .socket(let directory, let port):
            return "postgresql://\(user)@/\(database)?host=\(directory)&port=\(port)"
        }
    }

    /// Whether a password was found (URL or pgpass); says nothing of the password itself.
    public var hasPassword: Bool { password != nil }
    /// Whether the URL itself carried the password (`user:password@` or `?password=`), rather than pgpass.
    public private(set) var passwordInURL = false

    /// Parses `url`; `pgpassPath` is where to look when the URL has no password (nil: `PGPASSFILE` or `~/.pgpass`).
    public init(url: String, pgpassPath: String? = nil) throws(FleetError) {
        guard let schemeEnd = url.range(of: "://"),
            ["postgresql", "postgres"].contains(url[..<schemeEnd.lowerBound].lowercased())
        else {
            throw FleetError(.badTarget, "the PostgreSQL URL must start with postgresql:// (e.g. postgresql://user@host:5432/db)")
        }
        var rest = Substring(url[schemeEnd.upperBound...])
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { Self.percentDecoded($0) }
                query[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            rest = rest[..<mark]
        }
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = Self.percentDecoded(rest[rest.index(after: slash)...])
            rest = rest[..<slash]
        }
        var userInfo: Substring = ""
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        var user = ""
        var password: String?
        if let colon = userInfo.firstIndex(of: ":") {
            user = Self.percentDecoded(userInfo[..<colon])
            password = Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
        } else {
            user = Self.percentDecoded(userInfo)
        }
        user = query["user"] ?? user
        if user.isEmpty { user = Self.currentUserName() }
        if let fromQuery = query["password"] { password = fromQuery }

        var host = ""
        var port = 5432
        if rest.hasPrefix("[") , let close = rest.firstIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { port = try Self.port(String(after.dropFirst())) }
        } else if let colon = rest.lastIndex(of: ":") {
            host = Self.percentDecoded(rest[..<colon])
            port = try Self.port(String(rest[rest.index(after: colon)...]))
        } else {
            host = Self.percentDecoded(rest)
        }
        if let p = query["port"] { port = try Self.port(p) }
        if let h = query["host"], !h.isEmpty { host = h }
        if host.isEmpty { host = "/var/run/postgresql" }
        endpoint = host.hasPrefix("/") ? .socket(directory: host, port: port) : .tcp(host: host, port: port)
        database = query["dbname"] ?? (path.isEmpty ? user : path)
        guard let mode = SSLMode(rawValue: query["sslmode"] ?? "prefer") else {
            throw FleetError(.badTarget, "sslmode takes " + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        sslMode = mode
        sslRootCert = query["sslrootcert"]
        self.user = user
        passwordInURL = password != nil
        self.password = password ?? PGPass.lookup(
            path: pgpassPath ?? PGPass.defaultPath(), endpoint: endpoint, database: database, user: user)
    }

    /// The postgres-nio configuration: TLS only over TCP and as `sslmode` asks; a socket never uses TLS.
    public func configuration(connectTimeout: TimeAmount) throws(FleetError) -> PostgresConnection.Configuration {
        var config: PostgresConnection.Configuration
        switch endpoint {
        case .socket(let directory, let port):
            config = .init(
                unixSocketPath: directory + "/.s.PGSQL.\(port)", username: user, password: password, database: database)
        case .tcp(let host, let port):
            config = .init(host: host, port: port, username: user, password: password, database: database, tls: try tls(host: host))
        }
        config.options.connectTimeout = connectTimeout
        return config
    }

    private func tls(host: String) throws(FleetError) -> PostgresConnection.Configuration.TLS {
        if sslMode == .disable { return .disable }
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable, .allow, .prefer, .require:
            // libpq: these encrypt but do not check the certificate.
            tls.certificateVerification = .none
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        if let sslRootCert { tls.trustRoots = .file(sslRootCert) }
        do {
            let context = try NIOSSLContext(configuration: tls)
            return sslMode == .prefer || sslMode == .allow ? .prefer(context) : .require(context)
        } catch {
            throw FleetError(.badTarget, "cannot set up TLS for \(host): \(error)")
        }
    }

    private static func port(_ text: String) throws(FleetError) -> Int {
        guard let port = Int(text), (1...65_535).contains(port) else {
            throw FleetError(.badTarget, "the PostgreSQL port must be 1 to 65535")
        }
        return port
    }

    static func percentDecoded(_ text: Substring) -> String {
        String(text).removingPercentEncoding ?? String(text)
    }

    static func currentUserName() -> String {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return "postgres" }
        return String(cString: name)
    }
}

/// `~/.pgpass`: `hostname:port:database:username:password`, `*` matching anything, `\` escaping `:` and `\`
/// (https://www.postgresql.org/docs/15/libpq-pgpass.html). Like libpq it ignores a file others can read.
enum PGPass {
    static func defaultPath() -> String {
        if let file = ProcessInfo.processInfo.environment["PGPASSFILE"], !file.isEmpty { return file }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return home + "/.pgpass"
    }

    static func lookup(path: String, endpoint: PostgresTarget.Endpoint, database: String, user: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_mode & 0o077 == 0,
            let text = try? String(contentsOfFile: path, encoding: .utf8)
        else { return nil }
        let hosts: [String]
        let port: Int
        switch endpoint {
        case .tcp(let host, let p): (hosts, port) = ([host], p)
        // libpq matches a socket connection against "localhost" (for its default directory) and the path.
        case .socket(let directory, let p): (hosts, port) = ([directory, "localhost"], p)
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
            let fields = split(line)
            guard fields.count == 5 else { continue }
            func matches(_ field: String, _ value: String) -> Bool { field == "*" || field == value }
            if hosts.contains(where: { matches(fields[0], $0) }), matches(fields[1], String(port)),
                matches(fields[2], database), matches(fields[3], user)
            {
                return fields[4]
            }
        }
        return nil
    }

    /// Splits one line at unescaped colons, undoing `\:` and `\\`.
    static func split(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for ch in line {
            if escaped {
                current.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        fields.append(current)
        return fields
    }
}
