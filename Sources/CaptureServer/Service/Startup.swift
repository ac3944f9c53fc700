#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The file-system side of starting up: directories, the single-instance lock and the socket file.
enum Startup {
    /// The longest socket path `sockaddr_un.sun_path` holds, without its terminating NUL.
    static var maxSocketPathBytes: Int { MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1 }

    static func checkSocketPathLength(_ path: String) throws(StartupError) {
        let bytes = path.utf8.count
        guard bytes <= maxSocketPathBytes else {
            throw StartupError(
                code: .socketPathTooLong,
                message: "socket path is \(bytes) bytes; a Unix socket address holds at most \(maxSocketPathBytes): \(path)"
            )
        }
    }

    /// Creates the parent directory of `path` (and its parents) with mode 0700 when missing.
    static func createParentDirectory(of path: String) throws(StartupError) {
        guard let slash = path.lastIndex(of: "/") else { return }
        let directory = String(path[..<slash])
        guard !directory.isEmpty else { return }
        try createDirectory(directory)
    }

    private static func createDirectory(_ directory: String) throws(StartupError) {
        var st = stat()
        if stat(directory, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw StartupError(code: .filesystem, message: "\(directory) exists and is not a directory")
            }
            return
        }
        if let slash = directory.lastIndex(of: "/"), slash != directory.startIndex {
            try createDirectory(String(directory[..<slash]))
        }
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw StartupError(code: .filesystem, message: "cannot create \(directory): \(String(cString: strerror(errno)))")
        }
    }

    /// Takes an exclusive `flock` on `<db>.lock`, held for the life of the process (returns the fd).
    static func lockDatabase(_ dbPath: String) throws(StartupError) -> Int32 {
        let lockPath = dbPath + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StartupError(code: .filesystem, message: "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = errno
            close(fd)
            if err == EWOULDBLOCK {
                throw StartupError(code: .alreadyRunning, message: "another taas-capture is already serving \(dbPath)")
            }
            throw StartupError(code: .filesystem, message: "cannot lock \(lockPath): \(String(cString: strerror(err)))")
        }
        return fd
    }

    static func unlock(_ fd: Int32) {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Removes a socket file left by a crashed instance: only a socket, and only if nobody listens on it.
    static func removeStaleSocket(_ path: String) throws(StartupError) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            throw StartupError(code: .notASocket, message: "\(path) exists and is not a socket; not replacing it")
        }
        if isListening(path) {
            throw StartupError(code: .socketInUse, message: "another process is listening on \(path)")
        }
        if unlink(path) != 0, errno != ENOENT {
            throw StartupError(code: .filesystem, message: "cannot remove stale socket \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func isListening(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        // Only "refused" (nobody listens) or "gone" prove the file stale; anything else (EACCES, EAGAIN
        // from a full backlog) may be a live service, which must not lose its socket.
        return rc == 0 || (errno != ECONNREFUSED && errno != ENOENT)
    }
}
