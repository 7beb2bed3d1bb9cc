// ConfigReader+Server: reads the `server:` section (ServerSettings). Unknown keys warn; wrong
// types are errors with file:line:key, as everywhere in ConfigLoader.

import Yams

extension ConfigReader {
    mutating func readServer(_ node: Node, into server: inout ServerSettings) throws(ConfigError) {
        for (key, value) in try mapping(node, "server") {
            let path = "server." + key
            switch key {
            case "max_prompt_bytes":
                let bytes = try count(value, path, minimum: 1)
                guard bytes <= PromptText.maxBytes else {
                    throw error(value, path, "must be at most \(PromptText.maxBytes), got \(bytes)")
                }
                server.maxPromptBytes = bytes
            case "http": try readHTTP(value, into: &server.http)
            case "inbox_dir": server.inboxDir = try string(value, path)
            default: warnUnknown(value, path)
            }
        }
    }

    mutating func readHTTP(_ node: Node, into http: inout HTTPSettings) throws(ConfigError) {
        for (key, value) in try mapping(node, "server.http") {
            let path = "server.http." + key
            switch key {
            case "enabled": http.enabled = try bool(value, path)
            case "bind": http.bind = try string(value, path)
            case "port":
                let port = try count(value, path, minimum: 0)
                guard port <= 65535 else { throw error(value, path, "must be at most 65535, got \(port)") }
                http.port = port
            case "token_file": http.tokenFile = try string(value, path)
            case "allowed_origins": http.allowedOrigins = try stringList(value, path)
            case "allow_non_loopback": http.allowNonLoopback = try bool(value, path)
            default: warnUnknown(value, path)
            }
        }
    }
}
