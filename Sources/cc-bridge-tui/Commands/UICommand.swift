// The TUI itself: `cc-bridge-tui` (every instance) and `cc-bridge-tui attach <instance>`.

import ArgumentParser
import BridgeCore
import BridgeTUI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct UIOptions: ParsableArguments {
    @Option(help: "Theme name (default, dark, light, high-contrast, monochrome) or a .theme file.")
    var theme: String?

    @Flag(name: .customLong("no-mouse"), help: "Leave the mouse to the terminal (its own selection works).")
    var noMouse = false

    @Flag(name: .customLong("no-server"),
          help: "Read the pipes in this process instead of through the server (none is started; also CC_BRIDGE_NO_SERVER=1).")
    var noServer = false
}

enum TUILauncher {
    /// Loads config and theme, runs the TUI, maps failures to exit codes.
    static func run(common: CommonOptions, ui: UIOptions, attach: String?, stay: Bool = false) throws {
        let config = try common.loadConfig(quiet: true)
        let hosts = try common.remoteHosts(config)
        if let attach, let (host, _) = HostAddress.split(attach), !hosts.contains(where: { $0.name == host }) {
            let known = hosts.isEmpty ? "none are configured (hosts: in the config, or --host)" : "known: " + hosts.map(\.name).joined(separator: ", ")
            FileHandle.standardErrorWrite("cc-bridge-tui: no host named \"\(InstanceScanner.displayName(host))\" for \(InstanceScanner.displayName(attach)); \(known)")
            throw ExitCode(2)
        }
        try run(config: config, policy: common.policy, ui: ui, attach: attach, stay: stay, hosts: hosts,
                server: { try serverConnection(config: config, common: common, ui: ui) })
    }

    /// The server for the pipe directory, started in the background when none runs; nil with
    /// `--no-server`, CC_BRIDGE_NO_SERVER=1 or `tui.use_server: false` (the in-process hub).
    static func serverConnection(config: BridgeConfig, common: CommonOptions, ui: UIOptions) throws -> TUIServerConnection? {
        // No terminal: the TUI refuses to start (TUIRuntime says why), and no server is started
        // for a TUI that never runs.
        guard isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0 else { return nil }
        let environment = ProcessInfo.processInfo.environment
        let optedOut = !(environment["CC_BRIDGE_NO_SERVER"] ?? "").isEmpty && environment["CC_BRIDGE_NO_SERVER"] != "0"
        if ui.noServer || optedOut || !config.tui.useServer {
            return nil
        }
        let paths = ServerLocation.paths(for: config, environment: environment)
        let start = {
            try ServerStarter.start(config: config, paths: paths, configPath: common.config,
                                    allowUnsafePipes: common.allowUnsafePipes).get()
        }
        var notice: String?
        if !ServerLock.probe(paths).running {
            switch Result(catching: start) {
            case .success(let pid):
                notice = "started a server (pid \(pid)) for \(config.pipeDirectory); it keeps reading when you quit; "
                    + "`cc-bridge-tui server stop`"
            case .failure(let why):
                // A server that started meanwhile (another TUI) is as good as ours.
                guard ServerLock.probe(paths).running else {
                    FileHandle.standardErrorWrite("cc-bridge-tui: cannot start a server for \(config.pipeDirectory): \(why)\n"
                        + "cc-bridge-tui: `--no-server` reads the pipes in this process instead")
                    throw ExitCode(1)
                }
            }
        }
        return TUIServerConnection(endpoint: IPCEndpoint(pipeDirectory: config.pipeDirectory, environment: environment),
                                   paths: paths, startNotice: notice, startServer: start)
    }

    /// `stateDirectory` and `managed`: the demo keeps its history private and lets health
    /// recovery recreate the pipes of the agents it started.
    static func run(config: BridgeConfig, policy: PipePolicy, ui: UIOptions, attach: String?, stay: Bool = false,
                    stateDirectory: String? = nil, exportDirectory: String? = nil, managed: Set<String> = [], hosts: [RemoteHost] = [],
                    server: () throws -> TUIServerConnection? = { nil }) throws {
        let environment = ProcessInfo.processInfo.environment
        let paths = ThemeLoader.defaultSearchPaths(environment: environment, executablePath: executablePath())
        let (theme, themeWarning) = ThemeLoader.resolveOrDefault(configured: ui.theme ?? config.tui.theme,
                                                                 environment: environment, searchPaths: paths)
        // Said before the screen is taken and again after it is given back, where it stays visible.
        if let themeWarning { FileHandle.standardErrorWrite("warning: \(themeWarning)") }
        defer { if let themeWarning { FileHandle.standardErrorWrite("warning: \(themeWarning)") } }
        FileLogging.bootstrap()
        var options = TUIOptions(config: config, theme: theme, mouse: ui.noMouse ? false : config.tui.mouse)
        options.policy = policy
        options.attach = attach
        options.stayAfterDetach = stay
        options.stateDirectory = stateDirectory
        options.exportDirectory = exportDirectory
        options.managedInstances = managed
        options.configPath = config.sourcePath ?? ConfigLoader.locate(override: nil, environment: environment).path
        options.server = try server()
        options.hosts = hosts
        options.ssh = SSHSettings.from(environment: environment)
        do {
            try TUIRuntime(options: options).run()
        } catch let error as TUIRuntimeError {
            FileHandle.standardErrorWrite("cc-bridge-tui: \(error)")
            throw ExitCode(error.isUsage ? 2 : 1)
        }
        for warning in config.warnings { FileHandle.standardErrorWrite("warning: \(warning)") }
    }

    /// This program's file. Replaced while it runs (an upgrade, a rebuild), /proc/self/exe names
    /// the old file with " (deleted)" appended: the new file at the same path is the one to run
    /// (a TUI restarting its server after an upgrade).
    static func executablePath() -> String? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return CommandLine.arguments.first
        }
        return Self.liveExecutable(path)
    }

    static func liveExecutable(_ path: String) -> String {
        let deleted = " (deleted)"
        guard path.hasSuffix(deleted), !FileManager.default.fileExists(atPath: path) else { return path }
        return String(path.dropLast(deleted.count))
    }
}

extension TUIRuntimeError {
    var isUsage: Bool {
        switch self {
        case .notATerminal: true
        default: false
        }
    }
}

struct UICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui", abstract: "The TUI on every instance (the default command).")

    @OptionGroup var options: CommonOptions
    @OptionGroup var ui: UIOptions

    func run() throws {
        try TUILauncher.run(common: options, ui: ui, attach: nil)
    }
}

struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach", abstract: "Full screen on one instance, like `cc-bridge claude-attach`.")

    @OptionGroup var options: CommonOptions
    @OptionGroup var ui: UIOptions
    @Argument(help: "Instance name, or HOST/NAME on a remote host (--host, hosts:).") var instance: String
    @Flag(help: "Detaching (Ctrl-]) returns to the instance list instead of leaving.") var stay = false

    func run() throws {
        if let (host, remote) = HostAddress.split(instance) {
            let name = try options.instanceName(remote)
            try TUILauncher.run(common: options, ui: ui, attach: host + "/" + name.rawValue, stay: stay)
            return
        }
        let name = try options.instanceName(instance)
        try TUILauncher.run(common: options, ui: ui, attach: name.rawValue, stay: stay)
    }
}
