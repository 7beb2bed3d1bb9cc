// HostRequest: one in-FIFO line in jsonl mode, as the agent acts on it. Messages are decoded
// with BridgeCore's `ccb-jsonl/1` codec (HostMessage); a line that is not a JSON object at all
// is taken as a prompt with a generated id, so a plain host still gets answers.

import BridgeCore

public enum HostRequest: Sendable, Equatable {
    /// `id` is nil for a plain line (the agent generates one).
    case prompt(id: String?, text: String)
    case interrupt(id: String)
    /// The host's answer to a Claude permission request (Claude stream-json mode only).
    case permissionAnswer(id: String, requestID: String, behavior: PermissionBehavior, message: String)
    case unknown(type: String)
    /// A JSON object that is not a valid message (a missing id, say).
    case malformed(String)

    public static func decode(line: String) -> HostRequest {
        switch HostMessage.decode(line: Array(line.utf8)) {
        case .success(.prompt(let id, let text)): return .prompt(id: id, text: text)
        case .success(.interrupt(let id)): return .interrupt(id: id)
        case .success(.permissionAnswer(let id, let requestID, let behavior, let message)):
            return .permissionAnswer(id: id, requestID: requestID, behavior: behavior, message: message)
        case .failure(.unknownType(let type)): return .unknown(type: type)
        case .failure(.syntax), .failure(.notAnObject), .failure(.invalidUTF8): return .prompt(id: nil, text: line)
        case .failure(let error): return .malformed("\(error)")
        }
    }
}
