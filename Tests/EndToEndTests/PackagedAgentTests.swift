// PackagedAgentTests: the one-file cc-bridge-agent that scripts/package-agent makes for containers
// (docs/containers.md). `ldd` lists only the C library's own libraries; the file serves a real FIFO
// pair with an empty environment (`env -i`: no PATH, no HOME, no LD_LIBRARY_PATH to the toolchain);
// and the debug build's `cc-bridge-tui send` and `tail` talk to it. Run as root, the agent also
// runs in a mount namespace where the toolchain's runtime directory is hidden under an empty tmpfs.
// The file comes from $CCB_PACKAGED_AGENT, which scripts/test sets after running
// scripts/package-agent; without it the suite is skipped and says why.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

enum PackagedAgent {
    /// The packaged file, or why there is none.
    static let located: (path: String?, reason: String) = {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["CCB_PACKAGED_AGENT"], !path.isEmpty { return (path, "") }
        if let why = environment["CCB_PACKAGED_AGENT_UNAVAILABLE"], !why.isEmpty { return (nil, why) }
        return (nil, "CCB_PACKAGED_AGENT is not set: run scripts/package-agent and set it to the file it writes "
                     + "(scripts/test does both)")
    }()

    static var skipReason: Comment { Comment(rawValue: "no packaged agent: " + located.reason) }

    /// The C library's own shared objects: all a packaged agent may need. Anything else (the Swift
    /// runtime, Foundation, libstdc++, libgcc_s, ICU) would have to be in the container image.
    static let cLibraryObjects = ["linux-vdso.so", "ld-linux", "libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so"]

    /// A quick command's output through a file: the harness's pipes may lose a fast command's
    /// last bytes on a loaded machine, a file is complete once the command has exited.
    static func output(of command: [String], scratch: Scratch) throws -> Finished {
        let file = scratch.file("output-\(UUID().uuidString)")
        let result = try run("/bin/sh", ["-c", #""$@" > "$0""#, file] + command)
        return Finished(status: result.status, stdout: try String(contentsOfFile: file, encoding: .utf8), stderr: result.stderr)
    }

    /// Where the toolchain's Swift runtime is (the directory of the debug agent's libswiftCore.so),
    /// when this process may hide it from a child (root, with unshare); nil otherwise.
    static func toolchainRuntimeDirectory() throws -> String? {
        guard getuid() == 0, access("/usr/bin/unshare", X_OK) == 0 else { return nil }
        let scratch = Scratch()
        let ldd = try output(of: ["ldd", try Binaries.agent], scratch: scratch)
        guard let line = ldd.stdout.split(separator: "\n").first(where: { $0.contains("libswiftCore.so => /") }),
              let arrow = line.range(of: "=> "), let end = line.range(of: "/libswiftCore.so", range: arrow.upperBound..<line.endIndex)
        else { return nil }
        return String(line[arrow.upperBound..<end.lowerBound])
    }
}

@Suite(.enabled(if: PackagedAgent.located.path != nil, PackagedAgent.skipReason))
struct PackagedAgentTests {
    var packaged: String {
        get throws {
            let path = try #require(PackagedAgent.located.path)
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw HarnessError("CCB_PACKAGED_AGENT=\(path) is not an executable file: run scripts/package-agent")
            }
            return path
        }
    }

    @Test func lddListsOnlyTheCLibraryAndNoToolchainPath() throws {
        let path = try packaged
        let scratch = Scratch()
        let ldd = try PackagedAgent.output(of: ["ldd", path], scratch: scratch)
        #expect(ldd.status == 0, "ldd: \(ldd.stderr)")
        let objects = ldd.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        #expect(!objects.isEmpty)
        let foreign = objects.filter { line in !PackagedAgent.cLibraryObjects.contains { line.hasPrefix($0) || line.contains("/" + $0) } }
        #expect(foreign.isEmpty, "libraries beyond the C library's own: \(foreign)\nldd:\n\(ldd.stdout)")
        #expect(!ldd.stdout.contains("not found"), "ldd:\n\(ldd.stdout)")
        // A debug build carries RUNPATH /opt/swift/usr/lib/swift/linux: it would run under
        // `env -i` here and nowhere else. The packaged file may only look beside itself.
        let dynamic = try PackagedAgent.output(of: ["readelf", "-d", path], scratch: scratch)
        #expect(dynamic.status == 0, "readelf: \(dynamic.stderr)")
        let searchPaths = dynamic.stdout.split(separator: "\n").filter { $0.contains("(RPATH)") || $0.contains("(RUNPATH)") }
        #expect(searchPaths.allSatisfy { $0.hasSuffix("[$ORIGIN]") }, "library search paths: \(searchPaths)")
    }

    @Test func servesWithAnEmptyEnvironmentAndTheTUITalksToIt() throws {
        let path = try packaged
        let tui = try Binaries.tui
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let environment = ["HOME": scratch.path, "XDG_STATE_HOME": scratch.file("state"), "XDG_CONFIG_HOME": scratch.file("config")]
        // `env -i`: the agent gets no variable at all, so nothing points it at the toolchain's libraries.
        let serve = ["/usr/bin/env", "-i", path, "serve", "--name", "packed", "--pipe-dir", pipes,
                     "--protocol", "jsonl", "--heartbeat", "0", "--echo"]
        let hidden = try PackagedAgent.toolchainRuntimeDirectory()
        let agent: Running
        if let hidden {
            // unshare's mount namespace is private: the tmpfs is seen by the agent alone.
            agent = try Running("/usr/bin/unshare", ["--mount", "/bin/sh", "-c", #"mount -t tmpfs ccb-hidden "$0" && exec "$@""#, hidden] + serve)
        } else {
            agent = try Running(serve[0], Array(serve.dropFirst()))
        }
        defer { agent.signal(SIGKILL) }
        let fifos = ["/packed.in.fifo", "/packed.out.fifo"].map { pipes + $0 }
        #expect(eventually { fifos.allSatisfy { FileManager.default.fileExists(atPath: $0) } },
                "the packaged agent made no FIFOs; its stderr: \(agent.stderr)")
        let pid = agent.process.processIdentifier
        let environ = try String(contentsOfFile: "/proc/\(pid)/environ", encoding: .utf8)
        #expect(environ.isEmpty, "the agent's environment must be empty: \(environ.debugDescription)")
        // What it really loaded: the C library and nothing of Swift's, C++'s or the toolchain's.
        let maps = try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)
        let loaded = Set(maps.split(separator: "\n").compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).first }
            .map(String.init).filter { $0.contains(".so") })
        #expect(!loaded.isEmpty && loaded.allSatisfy { object in PackagedAgent.cLibraryObjects.contains { object.contains("/" + $0) } },
                "shared objects the agent loaded: \(loaded.sorted())")
        if let hidden {
            let visible = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/root" + hidden)
            #expect(FileManager.default.fileExists(atPath: hidden + "/libswiftCore.so") && visible.isEmpty,
                    "\(hidden) must be hidden from the agent only; it sees \(visible)")
        }

        let tail = try Running(tui, ["tail", "packed", "--follow", "--pipe-dir", pipes], environment: environment)
        defer { tail.signal(SIGKILL) }
        let sent = try run(tui, ["send", "packed", "hello from the host", "--pipe-dir", pipes, "--timeout", "10"],
                           environment: environment)
        #expect(sent.status == 0, "send failed: \(sent.stderr)")
        #expect(eventually { tail.stdout.contains("hello from the host") },
                "tail printed: \(tail.stdout.debugDescription); its stderr: \(tail.stderr); the agent's: \(agent.stderr)")
        tail.signal(SIGINT)
        _ = tail.wait(timeout: 5)

        agent.signal(SIGTERM)
        let stopped = agent.wait(timeout: 10)
        #expect(stopped?.status == 0, "the agent did not stop cleanly on SIGTERM: \(String(describing: stopped)) \(agent.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fifos[0]), "the agent removes the FIFOs it made")
    }

    /// docs/containers.md's rule: host and container user must share the uid. A container user of
    /// another uid in a group-shared pipe directory (setgid and sticky, mode 3770, its group) is
    /// refused by the host, naming the FIFO's owner, even with --allow-unsafe-pipes.
    @Test(.enabled(if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0, "needs root and setpriv to run the agent as uid 65534"))
    func aContainerUserOfAnotherUidIsRefusedEvenInAGroupSharedDirectory() throws {
        let path = try packaged
        let tui = try Binaries.tui
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        #expect(chmod(scratch.path, 0o711) == 0)
        #expect(mkdir(pipes, 0o700) == 0 && chown(pipes, 0, 65534) == 0 && chmod(pipes, 0o3770) == 0)
        let runnable = try Binaries.copy(path, into: scratch.path, for: 65534)
        let agent = try Running("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env", "-i", runnable,
                                                     "serve", "--name", "other", "--pipe-dir", pipes, "--heartbeat", "0", "--echo"])
        defer { agent.signal(SIGKILL) }
        #expect(eventually { FileManager.default.fileExists(atPath: pipes + "/other.out.fifo") }, "agent stderr: \(agent.stderr)")
        let environment = ["HOME": scratch.path, "XDG_STATE_HOME": scratch.file("state"), "XDG_CONFIG_HOME": scratch.file("config")]
        for extra in [[], ["--allow-unsafe-pipes"]] {
            let sent = try run(tui, ["send", "other", "hi", "--pipe-dir", pipes, "--timeout", "3"] + extra, environment: environment)
            #expect(sent.status == 1 && sent.stderr.contains("other.in.fifo is owned by uid 65534, not by us"),
                    "\(extra): exit \(sent.status), stderr: \(sent.stderr)")
        }
        agent.signal(SIGTERM)
        #expect(agent.wait(timeout: 10) != nil)
    }
}
