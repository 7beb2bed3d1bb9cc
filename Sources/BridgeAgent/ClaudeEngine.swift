// ClaudeEngine: `serve --claude` keeps one Claude Code in stream-json mode (ClaudeOptions.argv)
// and speaks its protocol: each prompt is one `user` message line on its stdin, each line of its
// stdout is decoded (ClaudeStreamDecoder) and relayed as `ccb-jsonl/1` frames (ClaudeFrame, text
// as `chunk`). One turn at a time: Claude's `result` ends the open turn (its frame, then `done`);
// later prompts wait in the agent's queue. Interrupts and permission answers go to Claude as
// control messages. When Claude dies, the open turn ends as an error and Claude is started again
// (RestartBackoff) with `--resume <session id>`. A watchdog reports a turn as stalled while Claude
// is silent (a known Claude Code failure) without killing it. Never blocks.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import BridgeCore

public final class ClaudeEngine: ReplyEngine {
    static let maxPendingInputBytes = 64 << 20
    static let maxPendingPermissions = 256

    /// A permission request waiting for the host's answer.
    struct PendingPermission {
        var turn: String
        var tool: String
        var inputJSON: String
    }

    let options: ClaudeOptions
    public var backoff = RestartBackoff()

    private var child: ChildProcess?
    private var splitter: ClaudeLineSplitter
    private var startedAt = 0.0
    private var restartAt: Double?
    private var gaveUp = false
    /// Lines on their way to Claude's stdin (prompts, control messages).
    private var input: [UInt8] = []
    private var inputWritten = 0
    private var openTurn: String?
    private var interrupted = false
    private var interruptCount = 0
    /// The session Claude reported (system/init); a restarted Claude resumes it.
    private var sessionID: String?
    /// Whether the running Claude was started with `--resume`.
    private var resumedSpawn = false
    private var announcedSession: String?
    /// What the session has cost, and the last `total_cost_usd` of the running Claude (nil before
    /// its first result): Claude's figure is cumulative over its process (docs/protocol.md).
    private var sessionCost = 0.0
    private var childCostSeen: Double?
    private var permissions: [String: PendingPermission] = [:]
    private var permissionOrder: [String] = []
    /// Tools the host allowed for the session: the agent answers their requests itself.
    private var allowedTools: Set<String> = []
    private var lastActivity = 0.0
    private var nextStall = Double.infinity

    public init(options: ClaudeOptions) {
        self.options = options
        splitter = ClaudeLineSplitter(maxLineBytes: options.maxLineBytes)
    }

    public var canStart: Bool { openTurn == nil && restartAt == nil && (child != nil || gaveUp) }
    public var runningTurn: String? { openTurn }
    public var childPID: pid_t? { child?.pid }

    public func begin(context: EngineContext) { spawn(context: context) }

    public func start(_ prompt: Prompt, context: EngineContext) {
        if gaveUp {
            gaveUp = false
            backoff.reset()
            spawn(context: context)
        }
        // Built by hand: JSONSerialization took most of the round trip (ccb-bench roundtrip-claude).
        let line = #"{"type":"user","message":{"role":"user","content":"# + JSONString.quoted(prompt.text)
            + #"},"parent_tool_use_id":null,"session_id":"# + JSONString.quoted(sessionID ?? "") + "}"
        guard child != nil, send(line: line) else {
            context.emit(.notice(child == nil ? "claude is not running; prompt \(prompt.id) was not sent"
                                              : "claude is not reading its input; dropped prompt \(prompt.id)"))
            context.emit(.done(turn: prompt.id, status: .error, exit: -1))
            return
        }
        openTurn = prompt.id
        interrupted = false
        touch(context.now())
        writeInput()
    }

    public func interrupt(context: EngineContext) {
        guard child != nil, openTurn != nil, !interrupted else { return }
        interrupted = true
        interruptCount += 1
        _ = send(line: #"{"type":"control_request","request_id":"ccb-interrupt-\#(interruptCount)","request":{"subtype":"interrupt"}}"#)
        writeInput()
    }

    public func answerPermission(requestID: String, behavior: PermissionBehavior, message: String, context: EngineContext) {
        guard let pending = permissions.removeValue(forKey: requestID) else {
            context.emit(.notice("ignored a permission answer for '\(ClaudeText.bounded(requestID, ClaudeFrameLimits.shortField))': no permission request with that id is waiting"))
            return
        }
        permissionOrder.removeAll { $0 == requestID }
        switch behavior {
        case .allow:
            respond(requestID, allowing: pending)
        case .allowSession:
            respond(requestID, allowing: pending)
            allowedTools.insert(pending.tool)
            context.emit(.notice("\(pending.tool) is allowed for the rest of this session: the agent answers its permission requests itself"))
            for other in permissionOrder where permissions[other]?.tool == pending.tool {
                if let waiting = permissions.removeValue(forKey: other) { respond(other, allowing: waiting) }
            }
            permissionOrder.removeAll { permissions[$0] == nil }
        case .deny:
            let reason = message.isEmpty ? "The user denied this tool use." : message
            respond(requestID, ["behavior": "deny", "message": reason])
        }
        touch(context.now())
        writeInput()
    }

    public func pollRequests(context: EngineContext) -> [PollRequest] {
        child?.pollRequests(outputBacklogged: context.outputBacklogged, inputPending: inputWritten < input.count) ?? []
    }

    public func handle(fd: Int32, revents: Int16, context: EngineContext) {
        child?.handle(fd: fd, revents: revents, received: { received($0, context: context) }, writeInput: { writeInput() })
    }

    public func tick(context: EngineContext) {
        let now = context.now()
        if let child, child.reap() {
            // Claude's last words first; while the reader is behind, wait for it.
            if child.outputFD >= 0 && context.outputBacklogged { return }
            while child.outputFD >= 0, let bytes = readChunk(child.outputFD), !bytes.isEmpty {
                received(bytes, context: context)
                if context.outputBacklogged { return }
            }
            childDied(child, context: context)
        }
        if let restartAt, now >= restartAt {
            self.restartAt = nil
            spawn(context: context)
        }
        if let turn = openTurn, child != nil, permissions.isEmpty, now >= nextStall {
            context.emit(.claude(.stalled(id: turn, silentSeconds: Int((now - lastActivity).rounded()))))
            nextStall += options.stallAfter
        }
    }

    public func nextDeadline() -> Double? {
        var deadline = restartAt ?? .infinity
        if openTurn != nil, child != nil, permissions.isEmpty { deadline = min(deadline, nextStall) }
        return deadline == .infinity ? nil : deadline
    }

    public func shutdown() {
        child?.closeStdin()
        child?.terminate()
        child = nil
    }

    // MARK: - Claude's output

    private func received(_ bytes: [UInt8], context: EngineContext) {
        touch(context.now())
        for line in splitter.feed(bytes) { handle(line, context: context) }
    }

    private func handle(_ line: ClaudeLine, context: EngineContext) {
        switch line {
        case .line(let bytes):
            for event in ClaudeStreamDecoder.decode(bytes) { handle(event, context: context) }
        case .overlong(let head, let bytes):
            relay("claude wrote a line of \(bytes) bytes, longer than \(splitter.maxLineBytes); it began: "
                  + ClaudeStreamDecoder.excerpt(head[...]), context: context)
        }
    }

    private func handle(_ event: ClaudeEvent, context: EngineContext) {
        switch event {
        case .initialized(var info):
            if info.sessionID != sessionID {
                // A different session (not a resume of ours): its costs and allowances start afresh.
                if sessionID != nil { sessionCost = 0; allowedTools = [] }
                sessionID = info.sessionID
            }
            guard announcedSession != info.sessionID else { return }
            announcedSession = info.sessionID
            info.resumed = resumedSpawn
            context.emit(.claude(.session(info)))
        case .system(let subtype):
            context.emit(.notice("claude: system event '\(subtype)'"))
        case .text(let text):
            guard !text.isEmpty else { return }
            context.emit(.output(turn: openTurn, bytes: Array((text.hasSuffix("\n") ? text : text + "\n").utf8)))
        case .thinking:
            break  // Claude's thinking is not part of the transcript (docs/protocol.md).
        case .toolUse(let info):
            context.emit(.claude(.toolUse(id: openTurn ?? "", info)))
        case .toolResult(let info):
            context.emit(.claude(.toolResult(id: openTurn ?? "", info)))
        case .userEcho:
            break
        case .result(let result):
            finishTurn(result, context: context)
        case .permissionRequest(let request):
            permissionRequested(request, context: context)
        case let .otherControlRequest(requestID, subtype):
            respondError(requestID, "cc-bridge-agent does not serve '\(subtype)' requests")
            context.emit(.notice("claude sent a '\(subtype)' control request; answered that it is not supported"))
            writeInput()
        case let .controlResponse(requestID, error):
            if let error { context.emit(.notice("claude refused control request \(requestID): \(error)")) }
        case .rateLimit(let info):
            context.emit(.claude(.rateLimit(info)))
        case let .unknown(type, line):
            relay("claude event of unknown type '\(type)': " + line, raw: line, context: context)
        case let .malformed(reason, line):
            relay("claude wrote a line that is not stream-json (\(reason)): " + line, raw: line, context: context)
        }
    }

    /// Text the agent cannot map: part of the open turn's text, or a notice between turns.
    private func relay(_ notice: String, raw: String? = nil, context: EngineContext) {
        if let turn = openTurn {
            context.emit(.output(turn: turn, bytes: Array(((raw ?? notice) + "\n").utf8)))
        } else {
            context.emit(.notice(notice))
        }
    }

    private func finishTurn(_ result: ClaudeResult, context: EngineContext) {
        // total_cost_usd counts from the start of this Claude process; a resumed one may carry
        // the session's earlier cost or start at zero (both seen): a first figure below what the
        // session already cost means it started at zero.
        let total = result.totalCostUSD
        let seen = childCostSeen ?? (resumedSpawn && total + 1e-9 >= sessionCost ? sessionCost : 0)
        let turnCost = ClaudeEngine.cents(max(0, total - seen))
        childCostSeen = total
        sessionCost = ClaudeEngine.cents(sessionCost + turnCost)
        if !result.errors.isEmpty { context.emit(.notice("claude: \(result.subtype): \(result.errors)")) }
        guard let turn = openTurn else {
            context.emit(.notice("claude ended a turn no prompt was waiting for (\(result.subtype))"))
            return
        }
        let info = TurnResultInfo(
            subtype: result.subtype, isError: result.isError, durationMs: result.durationMs,
            inputTokens: result.inputTokens, outputTokens: result.outputTokens,
            cacheReadTokens: result.cacheReadTokens, cacheWriteTokens: result.cacheWriteTokens,
            costUSD: turnCost, sessionCostUSD: sessionCost)
        context.emit(.claude(.result(id: turn, info)))
        let status: DoneStatus = interrupted ? .interrupted : (result.isError || result.subtype != "success") ? .error : .ok
        let exit: Int32 = switch status {
        case .ok: 0
        case .interrupted: interruptedExitCode
        default: 1
        }
        endTurn(status: status, exit: exit, context: context)
    }

    /// Dollars rounded to a millionth of a cent, so differences of Claude's totals read cleanly.
    static func cents(_ dollars: Double) -> Double { (dollars * 1e8).rounded() / 1e8 }

    private func endTurn(status: DoneStatus, exit: Int32, context: EngineContext) {
        guard let turn = openTurn else { return }
        openTurn = nil
        interrupted = false
        nextStall = .infinity
        // Requests of the finished turn can no longer be answered.
        permissions = permissions.filter { $0.value.turn != turn }
        permissionOrder.removeAll { permissions[$0] == nil }
        context.emit(.done(turn: turn, status: status, exit: exit))
    }

    private func permissionRequested(_ request: ClaudePermissionRequest, context: EngineContext) {
        let pending = PendingPermission(turn: openTurn ?? "", tool: request.tool, inputJSON: request.inputJSON)
        if allowedTools.contains(request.tool) {
            respond(request.requestID, allowing: pending)
            context.emit(.notice("allowed \(request.tool) \(request.summary) without asking: allowed for this session"))
            writeInput()
            return
        }
        guard permissions.count < ClaudeEngine.maxPendingPermissions else {
            respond(request.requestID, ["behavior": "deny", "message": "Too many permission requests are waiting."])
            context.emit(.notice("denied \(request.tool): \(ClaudeEngine.maxPendingPermissions) permission requests are already waiting"))
            writeInput()
            return
        }
        if permissions[request.requestID] == nil { permissionOrder.append(request.requestID) }
        permissions[request.requestID] = pending
        context.emit(.claude(.permission(id: pending.turn, PermissionRequestInfo(
            requestID: ClaudeText.bounded(request.requestID, ClaudeFrameLimits.shortField), tool: request.tool,
            summary: request.summary, input: request.inputExcerpt))))
    }

    // MARK: - Claude's input

    private func respond(_ requestID: String, allowing pending: PendingPermission) {
        let input = (try? JSONSerialization.jsonObject(with: Data(pending.inputJSON.utf8), options: [.fragmentsAllowed])) ?? [String: Any]()
        respond(requestID, ["behavior": "allow", "updatedInput": input])
    }

    private func respond(_ requestID: String, _ response: [String: Any]) {
        _ = send(["type": "control_response",
                  "response": ["subtype": "success", "request_id": requestID, "response": response]])
    }

    private func respondError(_ requestID: String, _ error: String) {
        _ = send(["type": "control_response",
                  "response": ["subtype": "error", "request_id": requestID, "error": error]])
    }

    /// Queues one JSON line for Claude's stdin; false when the queue is over its bound.
    private func send(_ message: [String: Any]) -> Bool {
        guard let data = try? JSONSerialization.data(withJSONObject: message, options: [.withoutEscapingSlashes]) else { return false }
        return send(line: String(decoding: data, as: UTF8.self))
    }

    private func send(line: String) -> Bool {
        let count = line.utf8.count + 1
        guard input.count - inputWritten + count < ClaudeEngine.maxPendingInputBytes else { return false }
        input.append(contentsOf: line.utf8)
        input.append(UInt8(ascii: "\n"))
        return true
    }

    private func writeInput() {
        guard let child, child.stdinFD >= 0 else { return }
        while inputWritten < input.count {
            let n = input.withUnsafeBytes { raw in
                write(child.stdinFD, raw.baseAddress! + inputWritten, raw.count - inputWritten)
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                child.closeStdin()  // EPIPE: Claude is going; its death is handled in tick
                return
            }
            inputWritten += n
        }
        if inputWritten == input.count {
            input.removeAll(keepingCapacity: input.count <= 1 << 20)
            inputWritten = 0
        } else if inputWritten > 1 << 20 {
            input.removeFirst(inputWritten)
            inputWritten = 0
        }
    }

    // MARK: - The child

    private func touch(_ now: Double) {
        lastActivity = now
        nextStall = openTurn == nil ? .infinity : now + options.stallAfter
    }

    private func spawn(context: EngineContext) {
        let argv = options.argv(resume: sessionID)
        splitter = ClaudeLineSplitter(maxLineBytes: options.maxLineBytes)
        input = []
        inputWritten = 0
        childCostSeen = nil
        announcedSession = nil
        resumedSpawn = sessionID != nil
        do {
            child = try ChildProcess.spawn(argv, withStdin: true)
            startedAt = context.now()
            touch(startedAt)
        } catch {
            context.emit(.notice("cannot start \(describe(argv)): \(error)"))
            scheduleRestart(afterExit: "could not be started", uptime: 0, context: context)
        }
    }

    private func childDied(_ dead: ChildProcess, context: EngineContext) {
        if let last = splitter.flush() { handle(last, context: context) }
        dead.closeOutput()
        dead.closeStdin()
        dead.killGroupRemnants()
        child = nil
        context.endDescendants(sparing: nil)
        let code = dead.exitCode ?? 0
        permissions = [:]
        permissionOrder = []
        endTurn(status: interrupted ? .interrupted : .error, exit: code, context: context)
        scheduleRestart(afterExit: exitPhrase(code: code, signal: dead.killedBySignal),
                        uptime: context.now() - startedAt, context: context)
    }

    private func scheduleRestart(afterExit phrase: String, uptime: Double, context: EngineContext) {
        let how = sessionID.map { " with --resume \($0)" } ?? ""
        switch backoff.childDied(uptime: uptime) {
        case .restart(let delay, let attempt):
            restartAt = context.now() + delay
            context.emit(.notice("claude \(phrase); restarting in \(formatSeconds(delay)) s\(how) (attempt \(attempt)/\(backoff.maximumAttempts))"))
        case .giveUp(let attempts):
            gaveUp = true
            context.emit(.notice("claude \(phrase); gave up after \(attempts) restarts; the next prompt starts it again\(how)"))
        }
    }
}
