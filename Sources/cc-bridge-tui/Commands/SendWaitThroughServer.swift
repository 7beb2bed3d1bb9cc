// `cc-bridge-tui send --wait-reply` with a server running (here, or a remote host's over ssh):
// the prompt goes through the server with an id (the user's `--id`, or one made here), the
// server waits for its turn to end (`send` with `wait`, then `turn` with `wait` in slices below
// the socket's request timeout) and the reply text comes back in the answer. Exit codes as without a server: 0 reply, 1 not delivered
// or the turn ended failed / timed out / interrupted, 3 still in the server's outbox when the
// timeout passed, 5 delivered but the turn did not end in time (what came so far is printed).
// The reply is exact with framed agents and best effort with plain ones (said on standard error).

import ArgumentParser
import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension SendCommand {
    /// Seconds the server is asked to wait per request (its request timeout is 30 s).
    static let serverWaitSlice = 20.0

    func sendAndWaitThroughServer(_ server: ServerClient, name: InstanceName, config: BridgeConfig) throws {
        let text = try promptText()
        let id = promptID ?? "cli-\(getpid())-\(Int(Date().timeIntervalSince1970 * 1000))"
        let replyTimeout = timeout ?? config.docker.session.requestTimeout
        let deadline = MonotonicClock.now() + replyTimeout
        func stderr(_ line: String) { FileHandle.standardErrorWrite(line) }
        func slice() -> Double { max(0, min(Self.serverWaitSlice, deadline - MonotonicClock.now())) }
        stderr("cc-bridge-tui: sending through \(server.said); it waits for the reply")
        var wait = slice()
        let answer = try server.call("send", [
            "instance": .string(name.rawValue), "text": .string(text), "origin": "cli", "id": .string(id), "wait": .number(wait),
        ], timeout: wait + 15)
        switch answer["result"]?.stringValue {
        case "delivered":
            stderr("delivered to \(name) through the server: prompt \(id), origin cli; the reply follows")
        case "queued":
            stderr("queued for \(name) in the server's outbox: prompt \(id) (\(answer["reason"]?.stringValue ?? "no agent reads")); "
                + "waiting for it to be delivered and answered")
        default:
            stderr("cc-bridge-tui: \(name): \(answer["error"]?.stringValue ?? "not delivered")")
            throw ExitCode(Status.notDelivered)
        }
        var turn = answer["turn"] ?? .null
        while !Self.isFinal(turn), MonotonicClock.now() < deadline {
            wait = slice()
            turn = try server.call("turn", ["instance": .string(name.rawValue), "id": .string(id), "wait": .number(wait)],
                                   timeout: wait + 15)
        }
        let state = turn["state"]?.stringValue ?? "unknown"
        let exact = turn["reply_exact"]?.boolValue ?? false
        switch state {
        case "ended":
            Self.printReply(turn["reply"]?.stringValue ?? "")
            if !exact {
                stderr("note: plain protocol: where the reply ends is best effort (the ❯ marker or a quiet period)")
            }
            let status = turn["status"]?.stringValue ?? "completed"
            if status != TurnStatus.completed.rawValue {
                stderr("cc-bridge-tui: \(name): the turn ended \(status)" + (turn["error"]?.stringValue.map { ": \($0)" } ?? ""))
                throw ExitCode(Status.notDelivered)
            }
        case "failed":
            stderr("cc-bridge-tui: \(name): \(turn["error"]?.stringValue ?? "not delivered")")
            throw ExitCode(Status.notDelivered)
        case "forgotten":
            stderr("cc-bridge-tui: \(name): prompt \(id) was delivered long ago; its turn is no longer kept")
            throw ExitCode(Status.notDelivered)
        case "queued", "sending":
            stderr("cc-bridge-tui: \(name): prompt \(id) is still in the server's outbox after \(Self.seconds(replyTimeout)) s; "
                + "the server delivers it when the agent reads again (do not send it again)")
            throw ExitCode(Status.writtenNotRead)
        default:
            Self.printReply(turn["turn"]?["response"]?.stringValue ?? "")
            stderr("cc-bridge-tui: \(name): delivered, but the turn did not end within \(Self.seconds(replyTimeout)) s "
                + "(prompt \(id)); what came so far is on standard output (exit 5)")
            throw ExitCode(Status.replyTimedOut)
        }
    }

    private static func isFinal(_ turn: JSONValue) -> Bool {
        guard let state = turn["state"]?.stringValue else { return false }
        return ["ended", "failed", "forgotten"].contains(state)
    }

    private static func printReply(_ reply: String) {
        guard !reply.isEmpty else { return }
        print(reply, terminator: reply.hasSuffix("\n") ? "" : "\n")
    }
}
