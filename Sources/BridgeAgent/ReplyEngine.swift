// ReplyEngine: what the agent loop needs from a reply mode (echo, script, exec, persistent).
// An engine never blocks: it names the descriptors it wants polled and its next deadline, and
// reports output, turn ends and notices through its EngineContext.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeCore

public struct Prompt: Sendable, Equatable {
    public var id: String
    public var text: String
    public init(id: String, text: String) {
        self.id = id
        self.text = text
    }
}

/// Exit code reported for a reply that was interrupted without a child exit status of its own.
public let interruptedExitCode: Int32 = 130

public protocol EngineContext: AnyObject {
    func emit(_ event: AgentEvent)
    /// True while the out-FIFO has a reader that is behind by `--buffer-limit` bytes: engines stop
    /// reading from children (backpressure) instead of letting output pile up.
    var outputBacklogged: Bool { get }
    /// `crash N` in a script: the agent exits with this code once the current step is done.
    func crash(code: Int32)
    func now() -> Double
    /// Ends every process the engine's children left behind (background jobs, daemons that
    /// escaped their process group), except `spared` (a child still in use) and its subtree.
    func endDescendants(sparing spared: pid_t?)
}

public struct PollRequest {
    public var fd: Int32
    public var events: Int16
}

public protocol ReplyEngine: AnyObject {
    /// Whether a new prompt may start now (sequential engines: only when idle).
    var canStart: Bool { get }
    /// The id of the reply being produced, if any.
    var runningTurn: String? { get }
    /// The child process the engine is running, if any (never reaped behind its back).
    var childPID: pid_t? { get }
    func begin(context: EngineContext)
    func start(_ prompt: Prompt, context: EngineContext)
    /// Interrupts the running reply (0x03 or an `interrupt` message).
    func interrupt(context: EngineContext)
    func pollRequests(context: EngineContext) -> [PollRequest]
    func handle(fd: Int32, revents: Int16, context: EngineContext)
    /// Timers, reaping children. Called on every loop iteration.
    func tick(context: EngineContext)
    func nextDeadline() -> Double?
    /// Stops every child (SIGTERM to its group, SIGKILL after 300 ms).
    func shutdown()
    /// The host's answer to a permission request (only the Claude mode asks for permission).
    func answerPermission(requestID: String, behavior: PermissionBehavior, message: String, context: EngineContext)
}

extension ReplyEngine {
    public var childPID: pid_t? { nil }
    public func begin(context: EngineContext) {}
    public func pollRequests(context: EngineContext) -> [PollRequest] { [] }
    public func handle(fd: Int32, revents: Int16, context: EngineContext) {}
    public func shutdown() {}
    public func answerPermission(requestID: String, behavior: PermissionBehavior, message: String, context: EngineContext) {
        context.emit(.notice("ignored a permission answer for '\(requestID)': no permission request is waiting"))
    }
}

/// Reads what a child printed, up to 64 KiB. nil at EOF or error; [] when nothing is there yet.
func readChunk(_ fd: Int32) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 { return Array(buffer[..<n]) }
        if n == 0 { return nil }
        switch errno {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: return []
        default: return nil
        }
    }
}

/// The words of a command for messages.
func describe(_ argv: [String]) -> String {
    argv.map { word in
        word.isEmpty || word.contains(where: { " \t\"'\\$".contains($0) }) ? "'" + word.replacingAll("'", with: #"'\''"#) + "'" : word
    }.joined(separator: " ")
}

/// Turns a wait status exit code into a phrase: "status 1" or "signal 9".
func exitPhrase(code: Int32, signal: Int32?) -> String {
    if let signal { return "was killed by signal \(signal)" }
    return "exited with status \(code)"
}
