// ServerSettings: the `server:` section of config.yaml, read by `cc-bridge-tui serve`.
// `server.http` turns on the HTTP input (off by default, loopback by default, a bearer token
// always); `server.max_prompt_bytes` bounds a prompt from any input (at most PromptText.maxBytes).

public struct ServerSettings: Sendable, Equatable {
    /// The largest prompt text accepted from an input, in UTF-8 bytes (default and cap 1 MiB).
    public var maxPromptBytes = PromptText.maxBytes
    public var http = HTTPSettings()
    /// `server.inbox_dir`: the drop directories' parent (`<it>/<instance>/`); nil: `<state dir>/inbox`.
    public var inboxDir: String?
    public init() {}
}

/// `server.http`: where the HTTP input listens and whom it lets in (docs/server.md, "HTTP").
public struct HTTPSettings: Sendable, Equatable {
    public var enabled = false
    /// An IP address to bind; anything but loopback needs `allowNonLoopback`.
    public var bind = "127.0.0.1"
    /// 0 picks a free port (the log names it).
    public var port = 8765
    /// A file holding the bearer token; nil: the server's socket token (`server-<key>.token`).
    public var tokenFile: String?
    /// Browser origins allowed to call (`http://localhost:3000`); a request with any other
    /// `Origin` header is refused with 403.
    public var allowedOrigins: [String] = []
    /// Binding to a non-loopback address must be asked for in so many words.
    public var allowNonLoopback = false
    public init() {}

    /// True for 127.0.0.0/8, ::1 and `localhost`.
    public static func isLoopback(_ address: String) -> Bool {
        let host = address.hasPrefix("[") && address.hasSuffix("]") ? String(address.dropFirst().dropLast()) : address
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
