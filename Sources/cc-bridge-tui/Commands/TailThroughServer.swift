// TailThroughServer: `tail` as a client of the running server. It subscribes to the instance and
// prints the kept lines, then the live ones, with the same TailPrinter as the direct path.
// Without --follow it leaves once nothing came for `--wait` seconds. With --follow it keeps going:
// when the server goes away it says so once, reconnects with backoff (IPCClient), and
// subscribes again from the line after the last one printed, so nothing is printed twice or
// left out while the server kept it (from the start of what a new server keeps, when the server
// itself was restarted: line ids count per server run).

import ArgumentParser
import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

final class TailThroughServer {
    let server: ServerClient
    let instance: String
    let follow: Bool
    let wait: Double
    private let loop: EventLoop
    private var client: IPCClient!
    private var printer = TailPrinter()
    /// The last finished line printed (0: none yet).
    private var lastFinished: UInt64 = 0
    private var subscription: Int?
    /// The server whose line ids `lastFinished` counts in (ids start again in a new server).
    private var serverPid: Int?
    private var idleTimer: EventLoop.TimerID?
    /// After a skip notice: the line the new subscription's backlog starts at. Output still
    /// queued for the old subscription (past the gap) is ignored until it comes, or the gap
    /// would be printed around and its lines never (they come again in the backlog).
    private var awaitingBacklog: UInt64?
    private var failure: String?
    private var gone = false

    init(server: ServerClient, instance: String, follow: Bool, wait: Double) throws {
        self.server = server
        self.instance = instance
        self.follow = follow
        self.wait = wait
        loop = try EventLoop()
    }

    func run() throws {
        // Over ssh the handshake includes connecting and maybe starting the remote server.
        let handshake = server.host == nil ? 5.0 : 30.0
        client = IPCClient(loop: loop, transport: server.transport,
                           options: IPCClientOptions(handshakeTimeout: handshake, reconnect: follow ? IPCBackoff() : nil))
        client.onEvent = { [unowned self] event in self.take(event) }
        client.onStateChange = { [unowned self] state in self.changed(state) }
        SignalPipe.route([SIGINT, SIGTERM, SIGHUP])
        loop.watch(SignalPipe.open(), for: .readable) { [unowned self] _ in
            if !SignalPipe.drain().isEmpty { self.loop.stop() }
        }
        client.start()
        loop.run()
        client.stop()
        printer.flushOpenLine()
        printer.finish()
        if let failure {
            FileHandle.standardErrorWrite("cc-bridge-tui: \(instance): \(failure)")
            throw ExitCode(1)
        }
    }

    private func notice(_ text: String) { FileHandle.standardErrorWrite("cc-bridge-tui: \(instance): \(text)") }

    private func changed(_ state: IPCClient.State) {
        switch state {
        case .ready:
            if gone { notice(server.host == nil ? "the server is back; following again" : "\(server.said) is back; following again") }
            gone = false
            awaitingBacklog = nil
            subscribe()
        case .waiting(_, let delay, let error):
            if !gone {
                let what = server.host == nil ? "server gone" : "connection to \(server.said) lost"
                notice("\(what) (\(error.message)); reconnecting in \(String(format: "%.1f", delay)) s")
            }
            gone = true
        case .stopped(let error?):
            failure = server.host == nil ? "the server: \(error)" : "\(server.said) (\(server.host!.url)): \(error.message) [\(error.code)]"
            loop.stop()
        default:
            break
        }
    }

    private func subscribe() {
        if client.serverPid != serverPid {
            // Another server (restarted): its ids count from 1 again, and it keeps none of the
            // old one's lines; everything it has is new to us.
            if serverPid != nil { lastFinished = 0 }
            serverPid = client.serverPid
        }
        var params: [String: JSONValue] = ["instance": .string(instance)]
        if lastFinished > 0 { params["from_line_id"] = .number(Double(lastFinished + 1)) }
        // The unfinished line already shown comes again whole (its id is lastFinished + 1).
        printer.resumeAtShownLine()
        client.request("subscribe", params: .object(params)) { [unowned self] result in
            switch result {
            case .success(let answer):
                self.subscription = answer["subscription"]?.intValue
                self.armIdleTimer()
            case .failure(let error):
                if error.code == .disconnected { return }  // reconnecting: subscribed again when ready
                self.failure = error.message
                self.loop.stop()
            }
        }
    }

    private func take(_ event: IPCEvent) {
        switch event.name {
        case IPCEventName.output:
            guard let (name, first, batch) = ServerWire.output(event, at: Date().timeIntervalSince1970), name == instance else { return }
            if let from = awaitingBacklog {
                guard first <= from else { return }
                awaitingBacklog = nil
            }
            let finished = batch.count - (batch.endsWithOpenLine ? 1 : 0)
            // Lines already printed (a resubscription after a skip) are not printed again.
            if finished > 0 && first + UInt64(finished) - 1 <= lastFinished && !batch.endsWithOpenLine { return }
            if !printer.write(batch) { loop.stop() }
            if finished > 0 { lastFinished = max(lastFinished, first + UInt64(finished) - 1) }
            armIdleTimer()
        case "lines_skipped":
            awaitingBacklog = nil
            notice("\(event.data["count"]?.intValue ?? 0) lines were no longer kept by the server")
        case IPCEventName.skipped:
            // The server dropped events for us (we were slow, or stopped): say so, and subscribe
            // again from what we have; what the server still keeps comes again, nothing twice.
            notice("fell behind: the server skipped \(event.data["count"]?.intValue ?? 0) events for this client; "
                + "catching up from line \(lastFinished + 1)")
            if let subscription { client.request("unsubscribe", params: ["subscription": .int(subscription)]) { _ in } }
            subscription = nil
            awaitingBacklog = lastFinished + 1
            subscribe()
        case IPCEventName.serverStopping:
            if !follow { loop.stop() }
        default:
            break
        }
    }

    private func armIdleTimer() {
        if let idleTimer { loop.cancel(idleTimer) }
        if follow {
            // A quiet stream: show the unfinished line so a prompt marker is visible.
            idleTimer = loop.schedule(after: 0.1) { [unowned self] in self.printer.flushOpenLine() }
        } else {
            idleTimer = loop.schedule(after: wait) { [unowned self] in self.loop.stop() }
        }
    }
}
