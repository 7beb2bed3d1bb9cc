// IPCTransport: how an IPCClient reaches a server. Either the local Unix socket of a pipe
// directory's server (IPCEndpoint), or a child process whose standard input and output carry
// the same frames (IPCCommand): `ssh ... cc-bridge-tui dial-stdio` for a remote host. The
// protocol on top is the same; a command's end authenticates to its own server (dial-stdio
// puts the token in), so the client sends an empty token through it.
//
// Public API:
//   enum IPCTransport { unixSocket(IPCEndpoint), command(IPCCommand) }, .label (for messages)
//   struct IPCCommand { executable, arguments, label, classifyFailure }
//   struct IPCChildExit { exited(code) / signalled(signal), description }
//   IPCErrorCode.isPermanent: failures a reconnect cannot cure (stop instead of retrying)

public enum IPCTransport: Sendable {
    case unixSocket(IPCEndpoint)
    case command(IPCCommand)

    public var label: String {
        switch self {
        case .unixSocket(let endpoint): return endpoint.socketPath
        case .command(let command): return command.label
        }
    }
}

public struct IPCCommand: Sendable {
    /// A path, or a name looked up in PATH.
    public var executable: String
    public var arguments: [String]
    /// What it reaches, for messages ("host build1 (ssh://me@build1)").
    public var label: String
    /// Turns how the process ended (its standard error's tail, its exit) into a typed error; nil:
    /// nothing specific (the connection is then just `disconnected`).
    public var classifyFailure: @Sendable (_ stderr: String, _ exit: IPCChildExit?) -> IPCError?

    public init(executable: String, arguments: [String], label: String,
                classifyFailure: @escaping @Sendable (String, IPCChildExit?) -> IPCError? = { _, _ in nil }) {
        self.executable = executable
        self.arguments = arguments
        self.label = label
        self.classifyFailure = classifyFailure
    }
}

public enum IPCChildExit: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): return "exit status \(code)"
        case .signalled(let signal): return "killed by signal \(signal)"
        }
    }
}

extension IPCErrorCode {
    /// `ssh` (or the transport's program) cannot be run here.
    public static let noTransportProgram = IPCErrorCode(rawValue: "no_ssh")
    public static let hostUnreachable = IPCErrorCode(rawValue: "host_unreachable")
    public static let authRefused = IPCErrorCode(rawValue: "auth_refused")
    /// The host's key differs from the one recorded (known_hosts): refused.
    public static let hostKeyMismatch = IPCErrorCode(rawValue: "host_key_mismatch")
    /// No key recorded for the host, and batch mode cannot ask.
    public static let hostKeyUnknown = IPCErrorCode(rawValue: "host_key_unknown")
    /// `cc-bridge-tui` is missing (or not executable) on the remote end.
    public static let remoteMissing = IPCErrorCode(rawValue: "remote_missing")

    /// Failures a reconnect cannot cure: the client stops instead of retrying.
    public var isPermanent: Bool {
        [.unsupportedVersion, .noTransportProgram, .authRefused, .hostKeyMismatch, .hostKeyUnknown, .remoteMissing].contains(self)
    }
}
