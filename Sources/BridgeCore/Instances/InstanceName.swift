// InstanceName: a validated instance name that can never reach outside pipe_dir.

public struct InstanceName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let maxLength = 128
    public let rawValue: String

    public enum Invalid: Error, Equatable, CustomStringConvertible {
        case empty, tooLong(Int), slash, dotDot, leadingDot, controlCharacter, whitespace

        public var description: String {
            switch self {
            case .empty: "the name is empty"
            case .tooLong(let n): "the name is \(n) bytes long (at most \(InstanceName.maxLength))"
            case .slash: "the name contains '/'"
            case .dotDot: "the name contains '..'"
            case .leadingDot: "the name starts with '.'"
            case .controlCharacter: "the name contains a control character"
            case .whitespace: "the name contains whitespace"
            }
        }
    }

    public init(validating raw: String) throws(Invalid) {
        if let problem = InstanceName.problem(in: raw) { throw problem }
        rawValue = raw
    }

    public static func problem(in raw: String) -> Invalid? {
        if raw.isEmpty { return .empty }
        if raw.utf8.count > maxLength { return .tooLong(raw.utf8.count) }
        if raw.contains("/") || raw.contains("\\") { return .slash }
        if raw.contains("..") { return .dotDot }
        if raw.hasPrefix(".") { return .leadingDot }
        for scalar in raw.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) {
                return .controlCharacter
            }
            if scalar.properties.isWhitespace { return .whitespace }
        }
        return nil
    }

    public var description: String { rawValue }
    public static func < (a: InstanceName, b: InstanceName) -> Bool { a.rawValue < b.rawValue }

    public func inFifoPath(in directory: String) -> String { directory + "/" + rawValue + ".in.fifo" }
    public func outFifoPath(in directory: String) -> String { directory + "/" + rawValue + ".out.fifo" }
}
