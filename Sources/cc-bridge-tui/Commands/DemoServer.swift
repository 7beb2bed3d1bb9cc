// DemoServer: the demo's own server, so the demo's TUI runs as users' does (a client of the
// server for its pipe directory). Its state and runtime directories are private, under the
// demo's temporary directory (this process's XDG_STATE_HOME and XDG_RUNTIME_DIR point there, so
// the server it starts and the TUI's connection agree on them); it may recreate the FIFOs of the
// demo's agents (health recovery, `--managed`). `stop` ends it, and whatever server the TUI
// started in its place should it die, before the directory goes.

import BridgeCore
import BridgeTUI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

final class DemoServer {
    let paths: ServerPaths
    let connection: TUIServerConnection
    /// The servers started (the first, and any the TUI started after one died).
    private var pids: [Int32] = []
    private var stopped = false

    /// Points this process's state and runtime directories into `directory`, starts the server
    /// and waits until it is ready.
    static func start(config: BridgeConfig, directory: String, managed: Set<String>) throws -> DemoServer {
        for (variable, name) in [("XDG_STATE_HOME", ".state"), ("XDG_RUNTIME_DIR", ".run")] {
            let path = directory + "/" + name
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw DemoError("cannot create \(path): \(error.localizedDescription)")
            }
            setenv(variable, path, 1)
        }
        return try DemoServer(config: config, managed: managed)
    }

    private init(config: BridgeConfig, managed: Set<String>) throws {
        let environment = ProcessInfo.processInfo.environment
        let paths = ServerLocation.paths(for: config, environment: environment)
        self.paths = paths
        var started: (Int32) -> Void = { _ in }
        let start: () throws -> Int32 = {
            let pid = try ServerStarter.start(config: config, paths: paths, configPath: nil, allowUnsafePipes: false,
                                              managed: managed).get()
            started(pid)
            return pid
        }
        connection = TUIServerConnection(endpoint: IPCEndpoint(pipeDirectory: config.pipeDirectory, environment: environment),
                                         paths: paths, startServer: start)
        started = { [unowned self] pid in self.pids.append(pid) }
        do {
            _ = try start()
        } catch {
            throw DemoError("cannot start the demo's server: \(error)")
        }
    }

    /// SIGTERM to the server (it writes its history and lets go of its files), SIGKILL after 5 s.
    func stop() {
        guard !stopped else { return }
        stopped = true
        if let pid = ServerLock.probe(paths).record?.pid, !pids.contains(pid) { pids.append(pid) }
        for pid in pids where pid > 1 { kill(pid, SIGTERM) }
        let deadline = MonotonicClock.now() + 5
        var running = Set(pids.filter { $0 > 1 })
        while !running.isEmpty && MonotonicClock.now() < deadline {
            for pid in running {
                var status: Int32 = 0
                // Our child: reaped; gone: ESRCH.
                if waitpid(pid, &status, WNOHANG) == pid || kill(pid, 0) != 0 { running.remove(pid) }
            }
            if !running.isEmpty { usleep(10_000) }
        }
        for pid in running {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}
