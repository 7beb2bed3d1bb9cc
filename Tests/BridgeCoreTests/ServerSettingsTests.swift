// ServerSettingsTests: the `server:` section (server.http and server.max_prompt_bytes): defaults
// (HTTP off, loopback, a port), the keys read, wrong values with file:line:key, unknown keys
// warned, and which bind addresses count as loopback.

import Testing
@testable import BridgeCore

@Suite struct ServerSettingsTests {
    @Test func httpIsOffAndLoopbackByDefault() throws {
        let config = try ConfigLoader.parse("docker:\n  pipe_dir: /tmp/p\n", file: "c.yaml")
        #expect(!config.server.http.enabled)
        #expect(config.server.http.bind == "127.0.0.1")
        #expect(config.server.http.tokenFile == nil)
        #expect(config.server.http.allowedOrigins.isEmpty)
        #expect(!config.server.http.allowNonLoopback)
        #expect(config.server.maxPromptBytes == 1 << 20)
    }

    @Test func readsTheServerSection() throws {
        let yaml = """
        server:
          max_prompt_bytes: 4096
          http:
            enabled: true
            bind: 0.0.0.0
            port: 9100
            token_file: ~/.config/cc-bridge/http.token
            allowed_origins: [http://localhost:3000]
            allow_non_loopback: yes
            colour: blue
        """
        let config = try ConfigLoader.parse(yaml, file: "c.yaml")
        #expect(config.server.maxPromptBytes == 4096)
        #expect(config.server.http == {
            var http = HTTPSettings()
            http.enabled = true
            http.bind = "0.0.0.0"
            http.port = 9100
            http.tokenFile = "~/.config/cc-bridge/http.token"
            http.allowedOrigins = ["http://localhost:3000"]
            http.allowNonLoopback = true
            return http
        }())
        #expect(config.warnings == ["c.yaml:10: server.http.colour: unknown key, ignored"])
    }

    @Test(arguments: [
        ("server:\n  http:\n    port: 70000\n", 3, "server.http.port", "must be at most 65535"),
        ("server:\n  http:\n    enabled: perhaps\n", 3, "server.http.enabled", "expected true or false"),
        ("server:\n  max_prompt_bytes: 2000000\n", 2, "server.max_prompt_bytes", "must be at most 1048576"),
        ("server:\n  max_prompt_bytes: 0\n", 2, "server.max_prompt_bytes", "must be at least 1"),
    ])
    func badValues(yaml: String, line: Int, key: String, message: String) {
        do {
            _ = try ConfigLoader.parse(yaml, file: "c.yaml")
            Issue.record("expected an error for \(yaml)")
        } catch {
            #expect(error.line == line)
            #expect(error.keyPath == key)
            #expect(error.message.hasPrefix(message), "\(error.message)")
        }
    }

    @Test func loopbackAddresses() {
        for address in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"] { #expect(HTTPSettings.isLoopback(address), "\(address)") }
        for address in ["0.0.0.0", "192.168.1.5", "::", "example.com", "127.0.0", "128.0.0.1"] {
            #expect(!HTTPSettings.isLoopback(address), "\(address)")
        }
    }
}
