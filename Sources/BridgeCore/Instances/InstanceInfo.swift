// InstanceInfo: one instance as found in pipe_dir, ready or broken (with the reason).

public enum InstanceStatus: Hashable, Sendable, Codable {
    case ready
    /// A half pair, a non-FIFO file with an instance's name, an unsafe file: listed, never hidden.
    case broken(String)
}

public struct InstanceInfo: Hashable, Sendable, Identifiable, Codable {
    public var name: String
    public var inPath: String
    public var outPath: String
    public var status: InstanceStatus
    public var id: String { name }

    public init(name: String, inPath: String, outPath: String, status: InstanceStatus) {
        self.name = name
        self.inPath = inPath
        self.outPath = outPath
        self.status = status
    }

    public var isReady: Bool { status == .ready }
    public var brokenReason: String? {
        if case .broken(let reason) = status { return reason }
        return nil
    }
}
