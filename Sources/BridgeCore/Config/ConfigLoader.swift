// ConfigLoader: finds and reads cc-bridge's config.yaml into BridgeConfig.
// Wrong types are errors with file:line:key; unknown keys in our sections are warnings.
// Sections that belong to other parts of cc-bridge are ignored.

import Foundation
import Yams

public enum ConfigLoader {
    /// Where the config is read from: `--config`, then `CC_BRIDGE_CONFIG`, then
    /// `$XDG_CONFIG_HOME/cc-bridge/config.yaml`, then `~/.config/cc-bridge/config.yaml`.
    /// `explicit` is true when the user named the file (then a missing file is an error).
    public static func locate(
        override: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (path: String, explicit: Bool) {
        if let override, !override.isEmpty { return (override, true) }
        if let env = environment["CC_BRIDGE_CONFIG"], !env.isEmpty { return (env, true) }
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            return (xdg + "/cc-bridge/config.yaml", false)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return (home + "/.config/cc-bridge/config.yaml", false)
    }

    public static func load(
        override: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> BridgeConfig {
        let (path, explicit) = locate(override: override, environment: environment)
        guard FileManager.default.fileExists(atPath: path) else {
            if explicit { throw ConfigError(file: path, line: nil, keyPath: nil, message: "no such file") }
            return BridgeConfig()
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, line: nil, keyPath: nil, message: "cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: nil, keyPath: nil, message: "is not valid UTF-8")
        }
        var config = try parse(text, file: path)
        config.sourcePath = path
        return config
    }

    /// Parses YAML text; `file` is only used in messages.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> BridgeConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw ConfigError(file: file, line: nil, keyPath: nil, message: "\(error)")
        }
        var reader = ConfigReader(file: file)
        var config = BridgeConfig()
        guard let root else { return config }   // an empty file: defaults
        try reader.readRoot(root, into: &config)
        config.warnings = reader.warnings
        return config
    }

    static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, keyPath: nil, message: "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigError(file: file, line: context.mark.line, keyPath: duplicates.sorted().joined(separator: ", "),
                               message: "duplicate key")
        default:
            return ConfigError(file: file, line: nil, keyPath: nil, message: "invalid YAML: \(error)")
        }
    }
}

/// Walks the composed YAML tree with line numbers at hand.
struct ConfigReader {
    let file: String
    var warnings: [String] = []

    mutating func readRoot(_ root: Node, into config: inout BridgeConfig) throws(ConfigError) {
        let top = try mapping(root, "")
        for (key, value) in top {
            switch key {
            case "project_name": config.projectName = try string(value, "project_name")
            case "docker": try readDocker(value, into: &config.docker)
            case "tui": try readTUI(value, into: &config.tui)
            case "server": try readServer(value, into: &config.server)
            default: break  // other cc-bridge sections are not ours to judge
            }
        }
    }

    mutating func readDocker(_ node: Node, into docker: inout DockerSettings) throws(ConfigError) {
        for (key, value) in try mapping(node, "docker") {
            let path = "docker." + key
            switch key {
            case "communication_mode":
                let mode = try string(value, path)
                guard mode == "fifo" || mode == "exec" else {
                    throw error(value, path, "expected \"fifo\" or \"exec\", got \"\(mode)\"")
                }
                docker.communicationMode = mode
            case "pipe_dir": docker.pipeDir = try string(value, path)
            case "session":
                for (sub, v) in try mapping(value, path) {
                    let p = path + "." + sub
                    switch sub {
                    case "idle_timeout": docker.session.idleTimeout = try seconds(v, p)
                    case "request_timeout": docker.session.requestTimeout = try seconds(v, p)
                    case "max_history": docker.session.maxHistory = try count(v, p, minimum: 1)
                    case "quiet_period": docker.session.quietPeriod = try seconds(v, p)
                    default: warnUnknown(v, p)
                    }
                }
            case "health":
                for (sub, v) in try mapping(value, path) {
                    let p = path + "." + sub
                    switch sub {
                    case "enabled": docker.health.enabled = try bool(v, p)
                    case "check_interval": docker.health.checkInterval = try seconds(v, p, minimum: 0.05)
                    case "max_consecutive_failures": docker.health.maxConsecutiveFailures = try count(v, p, minimum: 1)
                    case "recovery_delay": docker.health.recoveryDelay = try seconds(v, p)
                    default: warnUnknown(v, p)
                    }
                }
            default:
                // cc-bridge's docker section has keys for its other modes (image, containers, ...).
                break
            }
        }
    }

    mutating func readTUI(_ node: Node, into tui: inout TUISettings) throws(ConfigError) {
        for (key, value) in try mapping(node, "tui") {
            let path = "tui." + key
            switch key {
            case "theme": tui.theme = try string(value, path)
            case "scrollback_lines": tui.scrollbackLines = try count(value, path, minimum: 100)
            case "scrollback_bytes": tui.scrollbackBytes = try count(value, path, minimum: 64 << 10)
            case "scrollback_total_bytes": tui.scrollbackTotalBytes = try count(value, path, minimum: 1 << 20)
            case "max_line_bytes": tui.maxLineBytes = try count(value, path, minimum: 256)
            case "mouse": tui.mouse = try bool(value, path)
            case "wrap": tui.wrap = try bool(value, path)
            case "timestamps": tui.timestamps = try bool(value, path)
            case "gone_grace_seconds": tui.goneGraceSeconds = try seconds(value, path)
            case "notify":
                let text = try string(value, path)
                guard let mode = NotifyMode(rawValue: text) else {
                    throw error(value, path, "expected one of bell, osc9, osc777, off, got \"\(text)\"")
                }
                tui.notify = mode
            case "keys":
                for (action, keysNode) in try mapping(value, path) {
                    tui.keys[action] = try stringList(keysNode, path + "." + action)
                }
            case "confirm": tui.confirm = try stringList(value, path)
            default: warnUnknown(value, path)
            }
        }
    }

    // MARK: typed accessors

    func mapping(_ node: Node, _ path: String) throws(ConfigError) -> [(String, Node)] {
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" {
            return []  // `session:` with nothing under it
        }
        guard case .mapping(let map) = node else {
            throw error(node, path, "expected a mapping of keys, got \(describe(node))")
        }
        var pairs: [(String, Node)] = []
        for (key, value) in map {
            guard case .scalar(let keyScalar) = key else {
                throw error(key, path, "keys must be plain names")
            }
            pairs.append((keyScalar.string, value))
        }
        return pairs
    }

    func string(_ node: Node, _ path: String) throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw error(node, path, "expected a string, got \(describe(node))") }
        return scalar.string
    }

    func seconds(_ node: Node, _ path: String, minimum: Double = 0) throws(ConfigError) -> Double {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string), value.isFinite else {
            throw error(node, path, "expected a number, got \(describe(node))")
        }
        guard value >= minimum else { throw error(node, path, "must be at least \(minimum), got \(scalar.string)") }
        return value
    }

    func count(_ node: Node, _ path: String, minimum: Int) throws(ConfigError) -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            throw error(node, path, "expected a whole number, got \(describe(node))")
        }
        guard value >= minimum else { throw error(node, path, "must be at least \(minimum), got \(value)") }
        return value
    }

    func bool(_ node: Node, _ path: String) throws(ConfigError) -> Bool {
        if case .scalar(let scalar) = node {
            switch scalar.string.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: break
            }
        }
        throw error(node, path, "expected true or false, got \(describe(node))")
    }

    func stringList(_ node: Node, _ path: String) throws(ConfigError) -> [String] {
        switch node {
        case .scalar(let scalar): return [scalar.string]
        case .sequence(let seq):
            var result: [String] = []
            for item in seq { result.append(try string(item, path)) }
            return result
        default: throw error(node, path, "expected a key name or a list of key names, got \(describe(node))")
        }
    }

    mutating func warnUnknown(_ node: Node, _ path: String) {
        let line = node.mark.map { ":\($0.line)" } ?? ""
        warnings.append("\(file)\(line): \(path): unknown key, ignored")
    }

    func error(_ node: Node, _ path: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: node.mark?.line, keyPath: path, message: message)
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "\"\(scalar.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}
