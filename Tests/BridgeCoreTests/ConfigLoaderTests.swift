// ConfigLoaderTests: defaults, cc-bridge's docker keys, the tui section, and file:line:key errors.

import Foundation
import Testing
@testable import BridgeCore

@Suite struct ConfigLoaderTests {
    @Test func noFileGivesDefaults() throws {
        let tmp = TempDir()
        let config = try ConfigLoader.load(environment: ["HOME": tmp.path])
        #expect(config.sourcePath == nil)
        #expect(config.docker.pipeDir == "/tmp/cc-bridge/pipes")
        #expect(config.docker.session.idleTimeout == 300)
        #expect(config.docker.session.requestTimeout == 120)
        #expect(config.docker.session.maxHistory == 100)
        #expect(config.docker.health.enabled)
        #expect(config.docker.health.checkInterval == 30)
        #expect(config.docker.health.maxConsecutiveFailures == 3)
        #expect(config.docker.health.recoveryDelay == 5)
        #expect(config.docker.communicationMode == "fifo")
    }

    @Test func locatesXDGAndOverrides() {
        #expect(ConfigLoader.locate(override: nil, environment: ["HOME": "/h"]).path == "/h/.config/cc-bridge/config.yaml")
        #expect(ConfigLoader.locate(override: nil, environment: ["HOME": "/h", "XDG_CONFIG_HOME": "/x"]).path == "/x/cc-bridge/config.yaml")
        #expect(ConfigLoader.locate(override: nil, environment: ["CC_BRIDGE_CONFIG": "/c.yaml", "XDG_CONFIG_HOME": "/x"]) == ("/c.yaml", true))
        #expect(ConfigLoader.locate(override: "/o.yaml", environment: ["CC_BRIDGE_CONFIG": "/c.yaml"]) == ("/o.yaml", true))
    }

    @Test func readsDockerAndTUISections() throws {
        let yaml = """
        project_name: proj
        docker:
          communication_mode: fifo
          pipe_dir: ~/pipes/${PROJECT_NAME}
          image: something-else   # belongs to cc-bridge's other modes
          session:
            idle_timeout: 60
            request_timeout: 5.5
            max_history: 7
          health:
            enabled: false
            check_interval: 2
            max_consecutive_failures: 4
            recovery_delay: 1
        tui:
          theme: dark
          scrollback_lines: 1000
          scrollback_total_bytes: 33554432
          mouse: no
          keys:
            quit: [q, ctrl-q]
            help: "?"
        telegram:
          token: abc
        """
        let config = try ConfigLoader.parse(yaml, file: "config.yaml")
        #expect(config.warnings.isEmpty)
        #expect(config.docker.session.requestTimeout == 5.5)
        #expect(config.docker.session.maxHistory == 7)
        #expect(!config.docker.health.enabled)
        #expect(config.docker.health.maxConsecutiveFailures == 4)
        #expect(config.tui.theme == "dark")
        #expect(config.tui.scrollbackLines == 1000)
        #expect(config.tui.scrollbackTotalBytes == 32 << 20)
        #expect(!config.tui.mouse)
        #expect(config.tui.keys["quit"] == ["q", "ctrl-q"])
        #expect(config.tui.keys["help"] == ["?"])
        #expect(PathExpansion.expand(config.docker.pipeDir, projectName: config.projectName, home: "/home/u") == "/home/u/pipes/proj")
    }

    @Test func wrongTypeNamesFileLineAndKey() {
        let yaml = "docker:\n  pipe_dir: /tmp/x\n  session:\n    max_history: 3\n\n\n    idle_timeout: soon\n"
        #expect(throws: ConfigError(file: "config.yaml", line: 7, keyPath: "docker.session.idle_timeout",
                                    message: "expected a number, got \"soon\"")) {
            try ConfigLoader.parse(yaml, file: "config.yaml")
        }
        do {
            _ = try ConfigLoader.parse(yaml, file: "config.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "config.yaml:7: docker.session.idle_timeout: expected a number, got \"soon\"")
        }
    }

    @Test(arguments: [
        ("docker: [1, 2]\n", 1, "docker", "expected a mapping"),
        ("docker:\n  health:\n    enabled: maybe\n", 3, "docker.health.enabled", "expected true or false"),
        ("tui:\n  scrollback_lines: 12.5\n", 2, "tui.scrollback_lines", "expected a whole number"),
        ("docker:\n  session:\n    max_history: 0\n", 3, "docker.session.max_history", "must be at least 1"),
        ("tui:\n  scrollback_total_bytes: 1000\n", 2, "tui.scrollback_total_bytes", "must be at least 1048576"),
        ("tui:\n  scrollback_total_bytes: lots\n", 2, "tui.scrollback_total_bytes", "expected a whole number"),
        ("docker:\n  communication_mode: carrier-pigeon\n", 2, "docker.communication_mode", "expected \"fifo\" or \"exec\""),
        ("tui:\n  gone_grace_seconds: soon\n", 2, "tui.gone_grace_seconds", "expected a number"),
        ("tui:\n  gone_grace_seconds: -1\n", 2, "tui.gone_grace_seconds", "must be at least 0"),
    ])
    func badValues(yaml: String, line: Int, key: String, message: String) {
        do {
            _ = try ConfigLoader.parse(yaml, file: "c.yaml")
            Issue.record("expected an error for \(yaml)")
        } catch {
            #expect(error.line == line)
            #expect(error.keyPath == key)
            #expect(error.message.hasPrefix(message))
        }
    }

    @Test func brokenYAMLGivesALine() {
        do {
            _ = try ConfigLoader.parse("docker:\n  pipe_dir: [unclosed\n  session: x\n", file: "c.yaml")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.line != nil)
            #expect(error.message.hasPrefix("invalid YAML"))
        }
    }

    @Test func goneGraceSecondsDefaultsToThirtyAndIsRead() throws {
        #expect(TUISettings().goneGraceSeconds == 30)
        let config = try ConfigLoader.parse("tui:\n  gone_grace_seconds: 2.5\n", file: "c.yaml")
        #expect(config.tui.goneGraceSeconds == 2.5)
        #expect(config.warnings.isEmpty)
    }

    @Test func unknownKeysWarn() throws {
        let config = try ConfigLoader.parse("tui:\n  colour: red\ndocker:\n  session:\n    idle_timout: 3\n", file: "c.yaml")
        #expect(config.warnings == ["c.yaml:2: tui.colour: unknown key, ignored",
                                    "c.yaml:5: docker.session.idle_timout: unknown key, ignored"])
    }

    @Test func scrollbackTotalBytesDefaultsAndShares() {
        var settings = TUISettings()
        #expect(settings.scrollbackTotalBytes == 64 << 20)
        #expect(ScrollbackBudget.bytesPerInstance(settings: settings, instanceCount: 0) == 16 << 20)
        #expect(ScrollbackBudget.bytesPerInstance(settings: settings, instanceCount: 1) == 16 << 20)
        #expect(ScrollbackBudget.bytesPerInstance(settings: settings, instanceCount: 8) == 8 << 20)
        #expect(ScrollbackBudget.bytesPerInstance(settings: settings, instanceCount: 100) == (64 << 20) / 100)
        #expect(ScrollbackBudget.bytesPerInstance(settings: settings, instanceCount: 1000) == 256 << 10)
        settings.scrollbackBytes = 1 << 20
        #expect(ScrollbackBudget.bytesPerInstance(settings: settings, instanceCount: 2) == 1 << 20)
    }

    @Test func emptySectionsAndEmptyFileUseDefaults() throws {
        #expect(try ConfigLoader.parse("", file: "c").docker.pipeDir == "/tmp/cc-bridge/pipes")
        #expect(try ConfigLoader.parse("docker:\n  session:\n", file: "c").docker.session.maxHistory == 100)
    }

    @Test func explicitMissingFileIsAnError() {
        #expect(throws: ConfigError.self) { try ConfigLoader.load(override: "/nonexistent/c.yaml") }
    }
}
