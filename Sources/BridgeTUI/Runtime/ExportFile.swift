// ExportFile: a name of its own for each saved scrollback. Export names say the instance and the
// second (`cc-bridge-NAME-YYYYMMDD-HHMMSS.log`); a second save in the same second (a key pressed
// twice, two TUIs on one instance) takes `…-2.log`, `…-3.log`, so no save replaces another. The
// name is claimed with O_EXCL (0600) before the text is written over it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum ExportFile {
    /// `path`, or the first free `path` with `-N` before its extension, created empty (0600).
    static func claim(_ path: String) throws -> String {
        let dot = path.range(of: ".", options: .backwards, range: path.range(of: "/", options: .backwards).map { $0.upperBound..<path.endIndex })
        let stem = dot.map { String(path[..<$0.lowerBound]) } ?? path
        let ext = dot.map { String(path[$0.lowerBound...]) } ?? ""
        for n in 1...1000 {
            let candidate = n == 1 ? path : "\(stem)-\(n)\(ext)"
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
            if fd >= 0 {
                close(fd)
                return candidate
            }
            guard errno == EEXIST else { throw SaveError(path: candidate, code: errno) }
        }
        throw SaveError(path: path, code: EEXIST)
    }

    struct SaveError: Error, CustomStringConvertible {
        let path: String
        let code: Int32
        var description: String { "\(path): \(String(cString: strerror(code)))" }
    }
}
