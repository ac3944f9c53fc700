import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One progress line, rewritten in place on stderr, only when a person watches: stdout is a terminal and
/// the output is not `--json`. At most ten updates a second; `finish` clears the line.
final class TerminalProgress {
    private let enabled: Bool
    private var lastDraw: TimeInterval = 0
    private var drawn = false

    init(json: Bool) {
        enabled = !json && isatty(STDOUT_FILENO) == 1
    }

    func update(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        let now = Date().timeIntervalSince1970
        guard now - lastDraw >= 0.1 else { return }
        lastDraw = now
        drawn = true
        FileHandle.standardError.write(Data("\r\(text())\u{1B}[K".utf8))
    }

    func finish() {
        guard enabled, drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
