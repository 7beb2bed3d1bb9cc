// HTTPTests: the server's HTTP input (`server.http`) driven with the real `curl` against a
// detached `cc-bridge-tui serve` and a real echo agent on real FIFOs: every endpoint (health,
// instances, prompts with ids and `?wait`, the batch form, turns by id, Server-Sent Events) and
// every error code (400, 401, 403, 404, 405, 409, 413, 503), the Origin and Host refusals, a
// token from `token_file`, and the refusals to start (no usable token, a port in use, a
// non-loopback bind without `allow_non_loopback`). Prompts sent over HTTP carry origin `http`
// into the turn; an event-stream client that vanishes is let go.

import BridgeCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A server with the HTTP input on a free loopback port, and curl to talk to it.
final class HTTPScratch {
    let s: ServerScratch
    var configPath: String { s.scratch.file("config.yaml") }
    private(set) var url = ""
    private(set) var token = ""

    init(http extra: String = "", server serverExtra: String = "") throws {
        s = try ServerScratch()
        try """
        docker:
          pipe_dir: \(s.pipes)
          health:
            check_interval: 60
        server:
        \(serverExtra)  http:
            enabled: true
            port: 0
        \(extra)
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// `serve` with this config: the server's pid; the URL comes from its log.
    @discardableResult
    func start() throws -> pid_t {
        let result = try s.tui(["serve", "--config", configPath])
        guard result.status == 0, let pid = s.pidFileRecord else {
            throw HarnessError("serve failed: \(result.stdout) \(result.stderr) \(s.logText)")
        }
        s.started.insert(pid)
        guard let range = s.logText.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) else {
            throw HarnessError("no HTTP address in the log: \(s.logText)")
        }
        url = String(s.logText[range])
        let tokenFile = try FileManager.default.contentsOfDirectory(atPath: s.runtime + "/cc-bridge-tui").first { $0.hasSuffix(".token") }
        token = try String(contentsOfFile: s.runtime + "/cc-bridge-tui/" + (tokenFile ?? "?"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return pid
    }

    func startAgent(_ name: String = "bot") throws -> Running {
        let agent = try Running(try Binaries.agent, ["serve", "--name", name, "--pipe-dir", s.pipes, "--protocol", "jsonl",
                                                     "--heartbeat", "0", "--echo"])
        guard eventually(timeout: 30, { FileManager.default.fileExists(atPath: s.pipes + "/\(name).out.fifo") }) else {
            throw HarnessError("the agent made no FIFOs")
        }
        return agent
    }

    struct Answer {
        var status: Int
        var body: String
        var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)) }
        var code: String? { json?["code"]?.stringValue }
    }

    /// One request with curl; `token: nil` sends none.
    func curl(_ method: String, _ path: String, body: Data? = nil, token: String? = "", headers: [String] = [],
              timeout: Double = 60) throws -> Answer {
        var arguments = ["-sS", "-X", method, "-o", "-", "-w", "\n%{http_code}", "--max-time", String(Int(timeout))]
        let bearer = token == "" ? self.token : token
        if let bearer { arguments += ["-H", "Authorization: Bearer \(bearer)"] }
        for header in headers { arguments += ["-H", header] }
        if body != nil { arguments += ["-H", "Content-Type: application/json", "--data-binary", "@-"] }
        let finished = try run("/usr/bin/curl", arguments + [url + path], stdin: body, timeout: timeout + 10)
        guard let newline = finished.stdout.lastIndex(of: "\n"), let status = Int(finished.stdout[finished.stdout.index(after: newline)...]) else {
            throw HarnessError("curl \(method) \(path): \(finished.stdout) \(finished.stderr)")
        }
        return Answer(status: status, body: String(finished.stdout[..<newline]))
    }

    func post(_ path: String, _ json: String, token: String? = "", headers: [String] = []) throws -> Answer {
        try curl("POST", path, body: Data(json.utf8), token: token, headers: headers)
    }

    /// Waits until the server reads the instance (its activity is known).
    func waitUntilRead(_ name: String = "bot") throws -> Bool {
        try eventually(timeout: 30) {
            let list = try curl("GET", "/v1/instances")
            return list.json?["instances"]?.arrayValue?.contains { $0["instance"]?.stringValue == name && $0["activity"]?.isNull == false } == true
        }
    }
}

@Suite(.serialized) struct HTTPTests {
    @Test func everyEndpointAnswersWithCurlAndPromptsCarryOriginHTTP() throws {
        let h = try HTTPScratch()
        let agent = try h.startAgent()
        defer { agent.signal(SIGKILL) }
        try h.start()
        #expect(try h.waitUntilRead(), "the server never read bot")

        let health = try h.curl("GET", "/health")
        #expect(health.status == 200 && health.json?["status"]?.stringValue == "ok", "\(health.body)")

        let list = try h.curl("GET", "/v1/instances")
        #expect(list.status == 200 && list.json?["pipe_dir"]?.stringValue == h.s.pipes, "\(list.body)")

        let sent = try h.post("/v1/instances/bot/prompts", #"{"text": "hello over http", "id": "job-1"}"#)
        #expect(sent.status == 202, "\(sent.body)")
        #expect(sent.json?["id"]?.stringValue == "job-1" && sent.json?["result"]?.stringValue == "delivered", "\(sent.body)")

        var turn = HTTPScratch.Answer(status: 0, body: "")
        #expect(try eventually(timeout: 30) {
            turn = try h.curl("GET", "/v1/instances/bot/turns/job-1")
            return turn.json?["state"]?.stringValue == "ended"
        }, "the turn never ended: \(turn.body)")
        #expect(turn.status == 200)
        #expect(turn.json?["reply"]?.stringValue?.contains("hello over http") == true, "\(turn.body)")
        #expect(turn.json?["reply_exact"]?.boolValue == true, "framed echo: \(turn.body)")
        #expect(turn.json?["turn"]?["origin"]?.stringValue == "http", "\(turn.body)")

        // The same id again: not sent again, the first answer.
        let again = try h.post("/v1/instances/bot/prompts", #"{"text": "hello over http", "id": "job-1"}"#)
        #expect(again.status == 202 && again.json?["result"]?.stringValue == "delivered" && again.json?["duplicate"]?.boolValue == true,
                "\(again.body)")
        let history = try h.s.tui(["history", "bot", "--json"])
        let turns = (try? JSONDecoder().decode(JSONValue.self, from: Data(history.stdout.utf8)))?["turns"]?.arrayValue ?? []
        #expect(turns.filter { $0["prompt"]?.stringValue == "hello over http" }.count == 1, "one turn for job-1: \(history.stdout)")

        let waited = try h.curl("POST", "/v1/instances/bot/prompts?wait=30", body: Data(#"{"text": "wait for my reply"}"#.utf8))
        #expect(waited.status == 200, "\(waited.body)")
        #expect(waited.json?["turn"]?["reply"]?.stringValue?.contains("wait for my reply") == true, "\(waited.body)")

        let batch = try h.post("/v1/instances/bot/prompts/batch",
                               #"{"prompts": [{"text": "first of two", "id": "b-1"}, {"text": ""}, {"text": "second of two", "id": "b-2"}]}"#)
        #expect(batch.status == 202, "\(batch.body)")
        let results = batch.json?["results"]?.arrayValue ?? []
        #expect(results.map { $0["status"]?.intValue ?? 0 } == [202, 400, 202], "\(batch.body)")
        #expect(results.first?["id"]?.stringValue == "b-1" && results.last?["id"]?.stringValue == "b-2")
        #expect(results[safe: 1]?["code"]?.stringValue == "empty_text")
        #expect(try eventually(timeout: 30) {
            try h.curl("GET", "/v1/instances/bot/turns/b-2").json?["state"]?.stringValue == "ended"
        })
    }

    @Test func everyOperationOfTheOpenAPIDocumentIsServedWithADocumentedStatus() throws {
        let operations = try OpenAPIDocument.operations()
        #expect(operations.count == 6, "\(operations.map { "\($0.method) \($0.path)" })")
        let h = try HTTPScratch()
        let agent = try h.startAgent()
        defer { agent.signal(SIGKILL) }
        try h.start()
        #expect(try h.waitUntilRead())
        for operation in operations where operation.path != "/v1/events" {
            let path = operation.path.replacingOccurrences(of: "{name}", with: "bot").replacingOccurrences(of: "{id}", with: "doc-1")
            let body = path.hasSuffix("/batch") ? #"{"prompts": [{"text": "from the document", "id": "doc-2"}]}"# : #"{"text": "from the document", "id": "doc-1"}"#
            for token in ["", nil] as [String?] {
                let answer = try h.curl(operation.method, path, body: operation.method == "POST" ? Data(body.utf8) : nil, token: token)
                #expect(operation.statuses.contains(answer.status), "\(operation.method) \(path): \(answer.status) is not documented: \(answer.body)")
                #expect(answer.json != nil, "\(operation.method) \(path): not JSON: \(answer.body)")
                if token == nil { #expect(answer.status == 401) } else { #expect(answer.status < 300, "\(path): \(answer.body)") }
            }
        }
    }

    @Test func everyErrorHasItsStatusAndCode() throws {
        let h = try HTTPScratch(server: "  max_prompt_bytes: 1000\n")
        let agent = try h.startAgent()
        defer { agent.signal(SIGKILL) }
        try h.start()
        #expect(try h.waitUntilRead())

        func expect(_ answer: HTTPScratch.Answer, _ status: Int, _ code: String, _ note: String) {
            #expect(answer.status == status && answer.code == code, "\(note): \(answer.status) \(answer.body)")
            #expect(answer.json?["error"]?.stringValue?.isEmpty == false, "\(note): no message: \(answer.body)")
        }
        expect(try h.curl("GET", "/v1/instances", token: nil), 401, "unauthorized", "no token")
        expect(try h.curl("GET", "/health", token: "not-the-token"), 401, "unauthorized", "wrong token")
        expect(try h.curl("GET", "/v1/instances", headers: ["Origin: http://evil.example"]), 403, "forbidden_origin", "origin")
        expect(try h.curl("GET", "/v1/instances", headers: ["Host: rebound.example:80"]), 403, "forbidden_host", "host")
        expect(try h.post("/v1/instances/bot/prompts", #"{"text": "#), 400, "malformed_json", "malformed")
        expect(try h.curl("POST", "/v1/instances/bot/prompts", body: Data([0x7B, 0x22, 0x74, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D])),
               400, "invalid_utf8", "invalid UTF-8")
        expect(try h.post("/v1/instances/bot/prompts", #"{"id": "no-text"}"#), 400, "missing_text", "missing text")
        expect(try h.post("/v1/instances/bot/prompts?wait=soon", #"{"text": "x"}"#), 400, "bad_wait", "bad wait")
        expect(try h.post("/v1/instances/nobody/prompts", #"{"text": "x"}"#), 404, "no_such_instance", "unknown instance")
        expect(try h.curl("GET", "/v1/instances/bot/turns/never-sent"), 404, "no_such_turn", "unknown turn")
        expect(try h.curl("GET", "/v2/whatever"), 404, "not_found", "unknown path")
        expect(try h.curl("DELETE", "/v1/instances"), 405, "method_not_allowed", "wrong method")
        #expect(try h.post("/v1/instances/bot/prompts", #"{"text": "first text", "id": "same"}"#).status == 202)
        #expect(try eventually(timeout: 30) { try h.curl("GET", "/v1/instances/bot/turns/same").json?["state"]?.stringValue == "ended" })
        expect(try h.post("/v1/instances/bot/prompts", #"{"text": "other text", "id": "same"}"#), 409, "id_conflict", "reused id")
        expect(try h.post("/v1/instances/bot/prompts", "{\"text\": \"\(String(repeating: "x", count: 1001))\"}"), 413, "too_large", "text")
        expect(try h.curl("POST", "/v1/instances/bot/prompts", body: Data(repeating: 0x20, count: 200_000)), 413, "too_large", "body")
        // Nothing refused reached the agent: one turn only.
        let history = try h.s.tui(["history", "bot", "--json"])
        #expect(!history.stdout.contains("other text") && !history.stdout.contains("xxxxxxxxxx"), "\(history.stdout)")

        // 503: a request waiting for its reply when the server stops.
        agent.signal(SIGSTOP)
        defer { agent.signal(SIGCONT) }
        let waiting = try Running("/usr/bin/curl", ["-sS", "-o", "-", "-w", "\n%{http_code}", "-H", "Authorization: Bearer \(h.token)",
                                                    "--data-binary", #"{"text": "never answered"}"#, h.url + "/v1/instances/bot/prompts?wait=120"])
        #expect(try eventually(timeout: 30) { try h.s.tui(["history", "bot", "--json"]).stdout.contains("never answered") })
        #expect(try h.s.tui(["server", "stop"]).status == 0)
        guard let stopped = waiting.wait(timeout: 30) else { Issue.record("the waiting request was not answered"); return }
        #expect(stopped.stdout.hasSuffix("\n503") && stopped.stdout.contains("\"code\":\"server_stopping\""), "\(stopped.stdout)")
    }

    @Test func eventsStreamShowsAPromptsTurnAndReply() throws {
        let h = try HTTPScratch()
        let agent = try h.startAgent()
        defer { agent.signal(SIGKILL) }
        try h.start()
        #expect(try h.waitUntilRead())
        let stream = try Running("/usr/bin/curl", ["-sS", "-N", "-H", "Authorization: Bearer \(h.token)", h.url + "/v1/events?instance=bot"])
        defer { stream.signal(SIGKILL) }
        #expect(eventually(timeout: 30) { stream.stdout.contains("event: ready") }, "no ready event: \(stream.stdout)")
        #expect(try h.post("/v1/instances/bot/prompts", #"{"text": "stream me please", "id": "sse-1"}"#).status == 202)
        #expect(eventually(timeout: 30) { stream.stdout.contains("event: turn_ended") }, "no turn_ended: \(stream.stdout)")
        let blocks = stream.stdout.components(separatedBy: "\n\n")
        let started = blocks.first { $0.hasPrefix("event: turn_started") } ?? ""
        #expect(started.contains(#""prompt_id":"sse-1""#) && started.contains(#""origin":"http""#), "\(started)")
        #expect(blocks.contains { $0.hasPrefix("event: output") && $0.contains("stream me please") }, "\(stream.stdout)")
        let ended = blocks.first { $0.hasPrefix("event: turn_ended") } ?? ""
        #expect(ended.contains(#""id":"sse-1""#) && ended.contains("stream me please"), "\(ended)")
        // Another instance name is refused before any stream starts.
        #expect(try h.curl("GET", "/v1/events?instance=nobody").status == 404)
        // A client that vanishes is found by the next keep-alive (15 s) and its stream let go.
        #expect(try h.curl("GET", "/health").json?["event_streams"]?.intValue == 1)
        stream.signal(SIGKILL)
        // (A write to the closed connection fails only the second time: up to two keep-alives.)
        var streams: Int?
        let deadline = Date().addingTimeInterval(50)
        repeat {
            streams = try h.curl("GET", "/health").json?["event_streams"]?.intValue
            if streams == 0 { break }
            usleep(500_000)
        } while Date() < deadline
        #expect(streams == 0, "the vanished client's stream is still open")
    }

    @Test func aTokenFileIsUsedAndAnUnusableOneStopsTheServerFromStarting() throws {
        let secret = "a-long-http-token-0123456789"
        let h = try HTTPScratch(http: "    token_file: TOKEN\n")
        let tokenPath = h.s.scratch.file("http.token")
        try String(contentsOfFile: h.configPath, encoding: .utf8).replacingOccurrences(of: "TOKEN", with: tokenPath)
            .write(toFile: h.configPath, atomically: true, encoding: .utf8)

        // Missing, readable by others, empty: refused, saying why, and no server runs.
        for (content, mode, why) in [(nil, 0o600, "No such file"), (secret, 0o644, "can be read by others"), ("", 0o600, "holds no token")] {
            unlink(tokenPath)
            if let content {
                try content.write(toFile: tokenPath, atomically: true, encoding: .utf8)
                chmod(tokenPath, mode_t(mode))
            }
            let refused = try h.s.tui(["serve", "--config", h.configPath])
            #expect(refused.status == 1, "\(why): \(refused.stdout)")
            #expect(refused.stderr.contains("no bearer token") && refused.stderr.contains(why), "\(why): \(refused.stderr)")
            #expect(try h.s.tui(["server", "status"]).status == 1)
        }

        try secret.write(toFile: tokenPath, atomically: true, encoding: .utf8)
        chmod(tokenPath, 0o600)
        try h.start()
        #expect(try h.curl("GET", "/health", token: secret).status == 200)
        #expect(try h.curl("GET", "/health").status == 401, "the socket's token is not the HTTP token when token_file is set")
    }

    @Test func aPortInUseStopsTheServerFromStartingAndSaysWhich() throws {
        let holder = try Running("/usr/bin/env", ["python3", "-c", """
            import socket, time
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
            print(s.getsockname()[1], flush=True); time.sleep(120)
            """])
        defer { holder.signal(SIGKILL) }
        #expect(eventually(timeout: 20) { Int(holder.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) != nil })
        let port = holder.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let h = try HTTPScratch()
        try String(contentsOfFile: h.configPath, encoding: .utf8).replacingOccurrences(of: "port: 0", with: "port: \(port)")
            .write(toFile: h.configPath, atomically: true, encoding: .utf8)
        let refused = try h.s.tui(["serve", "--config", h.configPath])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("HTTP input not started: cannot listen on 127.0.0.1:\(port)"), "\(refused.stderr)")
        #expect(try h.s.tui(["server", "status"]).status == 1, "no server runs after the refusal")
    }

    @Test func aNonLoopbackBindNeedsAnExplicitSettingAndWarns() throws {
        let refusedScratch = try HTTPScratch(http: "    bind: 0.0.0.0\n")
        let refused = try refusedScratch.s.tui(["serve", "--config", refusedScratch.configPath])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("is not a loopback address") && refused.stderr.contains("allow_non_loopback"), "\(refused.stderr)")

        let h = try HTTPScratch(http: "    bind: 0.0.0.0\n    allow_non_loopback: true\n")
        let result = try h.s.tui(["serve", "--config", h.configPath])
        #expect(result.status == 0, "\(result.stderr)")
        if let pid = h.s.pidFileRecord { h.s.started.insert(pid) }
        #expect(eventually(timeout: 10) { h.s.logText.contains("warning: the HTTP input listens on 0.0.0.0:") }, "\(h.s.logText)")
    }
}

/// docs/openapi.yaml's operations: path, method and the statuses it documents (read by lines:
/// paths at two spaces, methods at four, statuses at eight).
enum OpenAPIDocument {
    struct Operation {
        var path: String
        var method: String
        var statuses: Set<Int>
    }

    static func operations() throws -> [Operation] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        var operations: [Operation] = []
        var path: String?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("paths:") { inPaths = true; continue }
            if inPaths, !line.isEmpty, !line.hasPrefix(" ") { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /") { path = String(line.dropFirst(2).dropLast()) }
            else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                operations.append(Operation(path: path, method: line.trimmingCharacters(in: .whitespaces).dropLast().uppercased(), statuses: []))
            } else if line.hasPrefix("        \""), let status = Int(line.dropFirst(9).prefix(3)), !operations.isEmpty {
                operations[operations.count - 1].statuses.insert(status)
            }
        }
        return operations
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
