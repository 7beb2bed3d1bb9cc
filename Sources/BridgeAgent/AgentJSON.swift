// AgentJSON: the `ccb-jsonl/1` messages as the agent writes and reads them.
// Stand-in until BridgeCore's protocol codec (AgentMessage/HostMessage) lands; the shapes are
// the same, so this file can be replaced by calls to that codec without touching the rest.

import Foundation

public enum DoneStatus: String, Sendable, Equatable {
    case ok, error, interrupted
}

/// A message from the agent to the host. `encode()` gives one line without the trailing `\n`.
public enum AgentFrame: Sendable, Equatable {
    case hello(protocol: String, agent: String, version: String, pid: Int32)
    case chunk(id: String, data: String)
    case done(id: String, status: DoneStatus, exit: Int32)
    case heartbeat(ts: Double)
    case notice(text: String)

    public static let protocolName = "ccb-jsonl/1"

    public func encode() -> String {
        switch self {
        case .hello(let proto, let agent, let version, let pid):
            return #"{"type":"hello","protocol":\#(quote(proto)),"agent":\#(quote(agent)),"version":\#(quote(version)),"pid":\#(pid)}"#
        case .chunk(let id, let data):
            return #"{"type":"chunk","id":\#(quote(id)),"data":\#(quote(data))}"#
        case .done(let id, let status, let exit):
            return #"{"type":"done","id":\#(quote(id)),"status":"\#(status.rawValue)","exit":\#(exit)}"#
        case .heartbeat(let ts):
            let millis = (ts * 1000).rounded()
            return #"{"type":"heartbeat","ts":\#(String(format: "%.3f", millis / 1000))}"#
        case .notice(let text):
            return #"{"type":"notice","text":\#(quote(text))}"#
        }
    }
}

/// A message from the host. Lines that are not JSON objects become prompts with a generated id.
public enum HostRequest: Sendable, Equatable {
    case prompt(id: String?, text: String)
    case interrupt(id: String?)
    case unknown(type: String)

    private struct Wire: Decodable {
        var type: String
        var id: String?
        var text: String?
    }

    public static func decode(line: String) -> HostRequest {
        let trimmed = line.trimmingSpaces()
        guard trimmed.hasPrefix("{"),
              let wire = try? JSONDecoder().decode(Wire.self, from: Data(trimmed.utf8))
        else { return .prompt(id: nil, text: line) }
        switch wire.type {
        case "prompt": return .prompt(id: wire.id, text: wire.text ?? "")
        case "interrupt": return .interrupt(id: wire.id)
        default: return .unknown(type: wire.type)
        }
    }
}

/// A JSON string literal; non-ASCII stays UTF-8, control characters are escaped.
func quote(_ s: String) -> String {
    var out = "\""
    out.reserveCapacity(s.utf8.count + 2)
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    out += "\""
    return out
}
