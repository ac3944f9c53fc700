#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The database file as the operating system sees it, before and around SQLite.
///
/// SQLite creates files with the process umask; we create the main file ourselves, 0600, before SQLite
/// opens it. SQLite's unix VFS then gives `-wal` and `-shm` the main file's permissions, and we `chmod`
/// them as well so the guarantee does not rest on one VFS's behaviour.
public enum DatabaseFile {
    /// Owner read/write only, whatever the umask.
    static let privateMode: mode_t = 0o600

    enum State {
        case missing
        /// A zero-length file: SQLite treats it as a new, empty database.
        case empty
        /// Starts with the SQLite header ("SQLite format 3\0"): https://www.sqlite.org/fileformat.html
        case sqlite
    }

    /// Looks at the file's first bytes through a read-only descriptor; never writes.
    ///
    /// Only before this process has any SQLite connection to the file: closing the descriptor drops
    /// every POSIX lock the process holds on it.
    static func inspect(_ path: String) throws(StoreError) -> State {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return .missing }
            throw StoreError(code: .cantOpen, message: "cannot read the database file: \(errnoText())")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw StoreError(code: .cantOpen, message: "cannot stat the database file: \(errnoText())")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw StoreError(code: .cantOpen, message: "the database path is not a regular file")
        }
        if info.st_size == 0 { return .empty }
        var header = [UInt8](repeating: 0, count: 16)
        let count = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 16, 0) }
        let magic: [UInt8] = Array("SQLite format 3".utf8) + [0]
        guard count == 16, header == magic, info.st_size >= 100 else {
            throw StoreError(code: .notADatabase, message: "the file is not an SQLite database; it was left untouched")
        }
        return .sqlite
    }

    /// Creates an empty file with mode 0600; false when it already exists (someone else created it first).
    static func createPrivate(_ path: String) throws(StoreError) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, privateMode)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw StoreError(code: .cantOpen, message: "cannot create the database file: \(errnoText())")
        }
        defer { close(fd) }
        // open() applies the umask to the mode; fchmod() does not.
        guard fchmod(fd, privateMode) == 0 else {
            throw StoreError(code: .cantOpen, message: "cannot set the database file's permissions: \(errnoText())")
        }
        return true
    }

    /// The main file and the files SQLite keeps beside it: "", `-wal`, `-shm`, `-journal`.
    static let suffixes = ["", "-wal", "-shm", "-journal"]

    /// Gives `-wal` and `-shm` (when present) the main file's 0600 mode.
    static func restrictSidecars(of path: String) {
        for suffix in suffixes.dropFirst() {
            chmod(path + suffix, privateMode)
        }
    }

    /// Whether something exists at `path`, by `stat` alone (no descriptor is opened, see `CaptureReader.init`).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// The file's size in bytes, 0 when it does not exist.
    public static func size(_ path: String) -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { return 0 }
        return Int64(info.st_size)
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
