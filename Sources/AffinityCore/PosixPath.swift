/// Node.js `path.posix` semantics for the few operations identity derivation needs.
///
/// Pure string work: nothing touches the file system, so symlinks are never followed and
/// non-ASCII text passes through unchanged (only `/` and `.` are special, as in Node).
public enum PosixPath {
    /// `path.posix.resolve(cwd, path)` of Node.js.
    ///
    /// A relative `path` is taken against `cwd`; an empty `path` yields the resolved `cwd`; `.` and `..`
    /// segments and repeated or trailing slashes are removed; `..` above the root stays at the root.
    /// `cwd` should be absolute (a process's working directory always is); a relative `cwd` is taken
    /// against `/`, so the result is always absolute.
    /// Node's `path.posix.isAbsolute`: the first Unicode scalar is `/` (so `"/\u{301}…"` is absolute, as
    /// in JavaScript, although Swift's grapheme-based `hasPrefix("/")` says no). The one absolute-path rule
    /// of the identity code, the service's selectors and `deriveSessionId`.
    public static func isAbsolute(_ path: String) -> Bool {
        path.scalarsHavePrefix("/")
    }

    public static func resolve(_ path: String, cwd: String) -> String {
        var joined = ""
        var absolute = false
        for part in [path, cwd, "/"] where !absolute {
            guard !part.isEmpty else { continue }
            joined = joined.isEmpty ? part : part + "/" + joined
            absolute = isAbsolute(part)
        }
        return "/" + normalizeSegments(joined, allowAboveRoot: false)
    }

    /// `path.posix.normalize(path)` of Node.js: like `resolve` but keeps a path relative and keeps
    /// one trailing slash; `""` becomes `"."`.
    public static func normalize(_ path: String) -> String {
        guard !path.isEmpty else { return "." }
        let absolute = isAbsolute(path)
        let trailingSlash = path.unicodeScalars.last == "/"
        var result = normalizeSegments(path, allowAboveRoot: !absolute)
        if result.isEmpty {
            return absolute ? "/" : (trailingSlash ? "./" : ".")
        }
        if trailingSlash { result += "/" }
        return absolute ? "/" + result : result
    }

    /// `path.posix.join(a, b)` of Node.js (used for `$HOME/.openclaw`).
    public static func join(_ first: String, _ second: String) -> String {
        let parts = [first, second].filter { !$0.isEmpty }
        return normalize(parts.isEmpty ? "" : parts.joined(separator: "/"))
    }

    /// `path.posix.basename(path)` of Node.js: the last segment, ignoring trailing slashes (`"/"` → `""`).
    public static func basename(_ path: String) -> String {
        path.scalarSegments(separatedBy: "/").last ?? ""
    }

    /// The segments of `path` without empty and `.` segments, `..` applied (Node's `normalizeString`).
    /// `..` that would climb above the start is kept only when `allowAboveRoot` (relative paths).
    private static func normalizeSegments(_ path: String, allowAboveRoot: Bool) -> String {
        var kept: [String] = []
        for segment in path.scalarSegments(separatedBy: "/") {
            switch segment {
            case ".":
                continue
            case "..":
                if let last = kept.last, last != ".." {
                    kept.removeLast()
                } else if allowAboveRoot {
                    kept.append(segment)
                }
            default:
                kept.append(segment)
            }
        }
        return kept.joined(separator: "/")
    }
}
