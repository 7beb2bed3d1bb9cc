// ConfigError: a config problem that names the file, the line and the key path.

public struct ConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var keyPath: String?
    public var message: String

    public init(file: String, line: Int?, keyPath: String?, message: String) {
        self.file = file
        self.line = line
        self.keyPath = keyPath
        self.message = message
    }

    /// `config.yaml:7: docker.session.idle_timeout: expected a number, got "soon"`
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        if let keyPath, !keyPath.isEmpty { text += ": \(keyPath)" }
        return text + ": " + message
    }
}
