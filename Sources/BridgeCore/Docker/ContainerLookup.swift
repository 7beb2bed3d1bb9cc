// ContainerLookup: finds an instance's container as cc-bridge does: by the label
// `cc-bridge.instance=<name>`, else by the container name (exactly, though Docker's name filter
// matches substrings).

public enum ContainerLookup: Equatable, Sendable {
    case found(DockerContainer, matchedBy: String)
    case notFound
    /// No Docker to ask (see DockerError.unavailable).
    case unavailable(String)
    /// Docker answered with an error or something unreadable.
    case failed(String)

    public static let instanceLabel = "cc-bridge.instance"

    public static func find(instance: String, engine: any DockerEngine) -> ContainerLookup {
        do {
            let labelled = try engine.containers(label: "\(instanceLabel)=\(instance)")
            if let best = prefer(labelled) { return .found(best, matchedBy: "label \(instanceLabel)=\(instance)") }
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
