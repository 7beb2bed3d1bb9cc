// HealthProbe: the I/O half of a health check. It looks at pipe_dir, each instance's FIFOs,
// whether an agent listens, and asks Docker; it judges nothing. It may block (Docker answers
// within its timeout), so an event loop runs it on another thread and posts the observation back.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Where the config came from, for the `config` check.
public enum ConfigStatus: Sendable, Equatable {
    /// `path` is where the loader looked (the file, or where it would have been).
    case loaded(BridgeConfig, path: String)
    case failed(ConfigError)
}

/// What the event loop knows about an instance's stream (fed to the monitor as it happens).
public struct InstanceActivity: Sendable, Equatable {
    public var framing: StreamFraming = .plain
    public var lastOutput: Double?
    public var lastHeartbeat: Double?
    public var session: SessionSummary?
    /// Since when the session hub knows the agent is gone (nil: alive or unknown).
    public var agentDownSince: Double?
    public init(framing: StreamFraming = .plain, lastOutput: Double? = nil, lastHeartbeat: Double? = nil, session: SessionSummary? = nil) {
        self.framing = framing
        self.lastOutput = lastOutput
        self.lastHeartbeat = lastHeartbeat
        self.session = session
    }
}

/// Everything a check run needs from the monitor's owner; a Sendable snapshot.
public struct HealthInputs: Sendable {
    public var now: Double
    public var pipeDirectory: String
    public var policy: PipePolicy
    public var config: ConfigStatus
    public var managed: Set<String>
    public var activity: [String: InstanceActivity]
}

public enum PipeCondition: Equatable, Sendable {
    case fifo(mode: UInt32, owner: UInt32)
    case missing
    case symlink
    case notFifo(String)
}

public struct InstanceObservation: Sendable, Equatable {
    public var name: String
    /// Set when the name itself is unusable (the scanner lists such files as broken).
    public var invalidName: String?
    public var inPipe: PipeCondition
    public var outPipe: PipeCondition
    /// nil when the in-FIFO was not usable, so listening was not tried.
    public var listening: Bool?
    /// nil when Docker was not asked (unavailable).
    public var container: ContainerLookup?
    /// Why pipe_dir lets other users swap FIFOs (FifoSafety.directoryTrust), nil when it does not.
    public var directoryProblem: String? = nil
}

public enum DockerObservation: Sendable, Equatable {
    case notConfigured
    case reachable(endpoint: String)
    /// No daemon on this host (no socket, or DOCKER_HOST not usable).
    case absent(String)
    /// A daemon is expected but does not answer properly.
    case failing(String)
}

public struct DirectoryObservation: Sendable, Equatable {
    public var path: String
    /// nil when it does not exist; otherwise a PathKind description ("directory", "symlink", ...).
    public var kind: String?
    public var mode: UInt32 = 0
    public var owner: UInt32 = 0
    public var writable = false
    public var fifoCount = 0
    /// FIFO file names writable by other users or owned by someone else, with why.
    public var unsafeFifos: [String] = []
    public var problems: [String] = []
}

public struct HealthObservation: Sendable {
    public var inputs: HealthInputs
    public var uid: UInt32
    public var docker: DockerObservation
    public var directory: DirectoryObservation
    public var instances: [InstanceObservation]
}

/// The calls a probe makes; tests swap `docker` (a fake server or a stub) and keep the rest real.
public struct HealthProbes: Sendable {
    public var docker: (any DockerEngine)?
    public var isListening: @Sendable (_ inPath: String, _ policy: PipePolicy) -> Bool

    public init(docker: (any DockerEngine)?,
                isListening: @escaping @Sendable (String, PipePolicy) -> Bool = { path, policy in
                    PromptWriter(policy: policy).isListening(path)
                }) {
        self.docker = docker
        self.isListening = isListening
    }
}

public enum HealthProbe {
    public static func observe(_ inputs: HealthInputs, probes: HealthProbes) -> HealthObservation {
        let docker = observeDocker(probes.docker)
        let directory = observeDirectory(inputs.pipeDirectory)
        // The instances as the scanner lists them, from the names alone: each is looked at below
        // (a thousand instances: no extra two thousand stat(2)s of a full scan).
        var names = Set(inputs.managed)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: inputs.pipeDirectory)) ?? []
        for name in InstanceScanner.names(in: entries) { names.insert(InstanceScanner.listedName(name)) }
        // The directory's trust once for all instances (a thousand instances: one stat, not a thousand).
        let trust = FifoSafety.directoryTrust(inputs.pipeDirectory)
        let instances = names.sorted().map {
            observeInstance($0, pipeDirectory: inputs.pipeDirectory, policy: inputs.policy, docker: docker, probes: probes,
                            directoryTrust: trust)
        }
        return HealthObservation(inputs: inputs, uid: UInt32(geteuid()), docker: docker, directory: directory, instances: instances)
    }

    /// One instance's pipes, listener and (when Docker is reachable) container.
    public static func observeInstance(_ name: String, pipeDirectory: String, policy: PipePolicy,
                                       docker: DockerObservation, probes: HealthProbes) -> InstanceObservation {
        observeInstance(name, pipeDirectory: pipeDirectory, policy: policy, docker: docker, probes: probes,
                        directoryTrust: FifoSafety.directoryTrust(pipeDirectory))
    }

    static func observeInstance(_ name: String, pipeDirectory: String, policy: PipePolicy, docker: DockerObservation,
                                probes: HealthProbes, directoryTrust: (reason: String, fix: String)?) -> InstanceObservation {
        let inPath = pipeDirectory + "/" + name + InstanceScanner.inSuffix
        let outPath = pipeDirectory + "/" + name + InstanceScanner.outSuffix
        var observation = InstanceObservation(
            name: name, invalidName: InstanceName.problem(in: name)?.description,
            inPipe: condition(inPath), outPipe: condition(outPath), listening: nil, container: nil)
        if let trust = directoryTrust {
            observation.directoryProblem = "pipe directory \(trust.reason); \(trust.fix)"
        }
        if observation.invalidName == nil, case .fifo(let mode, let owner) = observation.inPipe,
           owner == geteuid(), policy.allowUnsafe || (mode & 0o002 == 0 && observation.directoryProblem == nil) {
            observation.listening = probes.isListening(inPath, policy)
        }
        if case .reachable = docker, let engine = probes.docker, observation.invalidName == nil {
            observation.container = ContainerLookup.find(instance: name, engine: engine)
        }
        return observation
    }

    static func condition(_ path: String) -> PipeCondition {
        switch FifoSafety.inspect(path) {
        case .missing: .missing
        case .symlink: .symlink
        case .other(let kind): .notFifo(kind)
        case .fifo(let mode, let owner, _, _): .fifo(mode: mode, owner: owner)
        }
    }

    public static func observeDocker(_ engine: (any DockerEngine)?) -> DockerObservation {
        guard let engine else { return .notConfigured }
        do {
            try engine.ping()
            return .reachable(endpoint: engine.endpoint)
        } catch {
            if case .unavailable(let why) = error {
                if engine.endpoint.hasPrefix("unix://") {
                    let path = String(engine.endpoint.dropFirst("unix://".count))
                    var st = stat()
                    if lstat(path, &st) != 0 { return .absent(why) }
                    return .failing(why)
                }
                return .absent(why)
            }
            return .failing(error.description)
        }
    }

    static func observeDirectory(_ path: String) -> DirectoryObservation {
        var result = DirectoryObservation(path: path)
        var st = stat()
        guard lstat(path, &st) == 0 else { return result }
        result.kind = PathKind.describe(mode: UInt32(st.st_mode))
        result.mode = UInt32(st.st_mode) & 0o7777
        result.owner = UInt32(st.st_uid)
        guard UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFDIR) else { return result }
        result.writable = access(path, W_OK | X_OK) == 0
        result.problems = FifoSafety.directoryProblems(path)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for entry in entries.sorted() {
            guard case .fifo(let mode, let owner, _, _) = FifoSafety.inspect(path + "/" + entry) else { continue }
            result.fifoCount += 1
            if owner != geteuid() {
                result.unsafeFifos.append("\(InstanceScanner.displayName(entry)) (owned by uid \(owner))")
            } else if mode & 0o002 != 0 {
                result.unsafeFifos.append("\(InstanceScanner.displayName(entry)) (mode \(String(mode, radix: 8)))")
            }
        }
        return result
    }
}
