// ContainerLookup: finds an instance's container: by the label `cc-bridge.instance=<name>`, else
// by the label cc-bridge itself puts on its containers today (`cc-bridge.workspace=<name>`), else by
// the container name (exactly, though Docker's name filter matches substrings).

public enum ContainerLookup: Equatable, Sendable {
    case found(DockerContainer, matchedBy: String)
    case notFound
    /// No Docker to ask (see DockerError.unavailable).
    case unavailable(String)
    /// Docker answered with an error or something unreadable.
    case failed(String)

    public static let instanceLabel = "cc-bridge.instance"
    /// The label cc-bridge's own compose files and discovery use (`cc-bridge.workspace=NAME`).
    public static let workspaceLabel = "cc-bridge.workspace"
    /// Asked in this order: ours names the instance exactly, cc-bridge's names its workspace.
    public static let labels = [instanceLabel, workspaceLabel]

    /// How `find` looks, for messages: "labelled cc-bridge.instance=NAME or cc-bridge.workspace=NAME or named NAME".
    public static func searched(for instance: String) -> String {
        "labelled " + labels.map { "\($0)=\(instance)" }.joined(separator: " or ") + " or named \(instance)"
    }

    public static func find(instance: String, engine: any DockerEngine) -> ContainerLookup {
        do {
            for label in labels {
                let labelled = try engine.containers(label: "\(label)=\(instance)")
                if let best = prefer(labelled) { return .found(best, matchedBy: "label \(label)=\(instance)") }
            }
            let named = try engine.containers(name: instance).filter { $0.names.contains("/" + instance) || $0.names.contains(instance) }
            if let best = prefer(named) { return .found(best, matchedBy: "name") }
            return .notFound
        } catch {
            if case .unavailable(let why) = error { return .unavailable(why) }
            return .failed(error.description)
        }
    }

    /// A running container over a stopped one with the same label.
    static func prefer(_ containers: [DockerContainer]) -> DockerContainer? {
        containers.first { $0.state == "running" } ?? containers.first
    }
}
