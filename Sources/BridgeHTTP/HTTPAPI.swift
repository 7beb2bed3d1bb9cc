// HTTPAPI: the routes of the HTTP input (docs/openapi.yaml is their contract):
//   GET  /health                                   the server and its health report
//   GET  /v1/instances                             the instances, as `list` shows them
//   POST /v1/instances/{name}/prompts[?wait=S]     {"text", "id"?} -> 202 {id, result}; with
//                                                  wait, 200 with the turn once it ended
//   POST /v1/instances/{name}/prompts/batch        {"prompts": [...]} -> 202 {results: [...]}
//   GET  /v1/instances/{name}/turns/{id}           the turn: state, and its reply once ended
//   GET  /v1/events[?instance=NAME]                Server-Sent Events
// Access is checked first (HTTPAccess), the body is read up to its limit (413), checked
// (PromptRequest), and only then does anything hop onto the loop (LoopHop). Every answer is
// JSON, errors `{"error", "code"}`; nothing a client sends makes a 5xx but a stopping server
// (503) or a prompt the hub could not deliver (503).

import BridgeCore
import FlyingFox
import FlyingSocks
import Foundation

struct HTTPAPI: Sendable {
    let hop: LoopHop
    let access: HTTPAccess
    let maxPromptBytes: Int
    /// The longest `?wait=` in seconds (the library's request timeout is set above it).
    static let maxWait = 300.0

    /// A body may hold the text plus its JSON envelope.
    var maxBodyBytes: Int { maxPromptBytes + (64 << 10) }

    func handle(_ request: HTTPRequest) async -> FlyingFox.HTTPResponse {
        let origin = request.headers[HTTPHeader("Origin")]
        let preflight = request.method == .OPTIONS
        if let refused = access.refusal(origin: origin, host: request.headers[.host],
                                        authorization: request.headers[.authorization], preflight: preflight) {
            var response = Self.json(APIAnswer(refused))
            if refused.status == 401 { response.headers[HTTPHeader("WWW-Authenticate")] = "Bearer" }
            return response
        }
        var response = preflight ? FlyingFox.HTTPResponse(statusCode: .noContent) : await route(request)
        if let origin {
            response.headers[HTTPHeader("Access-Control-Allow-Origin")] = origin
            response.headers[HTTPHeader("Vary")] = "Origin"
            if preflight {
                response.headers[HTTPHeader("Access-Control-Allow-Methods")] = "GET, POST"
                response.headers[HTTPHeader("Access-Control-Allow-Headers")] = "Authorization, Content-Type"
            }
        }
        return response
    }

    private func route(_ request: HTTPRequest) async -> FlyingFox.HTTPResponse {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true)
            .map { String($0).removingPercentEncoding ?? String($0) }
        let method = request.method
        var allow: String?
        func only(_ allowed: HTTPMethod) -> APIError? {
            guard method != allowed else { return nil }
            allow = allowed.rawValue
            return .methodNotAllowed(method.rawValue, allowed: [allowed.rawValue])
        }
        var response = await answer(request, parts: parts, only: only)
        if response.statusCode.code == 405, let allow { response.headers[HTTPHeader("Allow")] = allow }
        return response
    }

    private func answer(_ request: HTTPRequest, parts: [String], only: (HTTPMethod) -> APIError?) async -> FlyingFox.HTTPResponse {
        switch parts.count {
        case 1 where parts[0] == "health":
            if let error = only(.GET) { return Self.json(APIAnswer(error)) }
            return Self.json(await health())
        case 2 where parts == ["v1", "instances"]:
            if let error = only(.GET) { return Self.json(APIAnswer(error)) }
            return Self.json(await hop.run { state in
                APIAnswer(200, ["pipe_dir": .string(state.core.pipeDirectory),
                                "instances": .array(state.core.list().map(ServerWire.instance))])
            })
        case 2 where parts == ["v1", "events"]:
            if let error = only(.GET) { return Self.json(APIAnswer(error)) }
            return await events(instance: request.query.first { $0.name == "instance" }?.value)
        case 4 where parts[0] == "v1" && parts[1] == "instances" && parts[3] == "prompts":
            if let error = only(.POST) { return Self.json(APIAnswer(error)) }
            return Self.json(await prompt(request, instance: parts[2]))
        case 5 where parts[0] == "v1" && parts[1] == "instances" && parts[3] == "prompts" && parts[4] == "batch":
            if let error = only(.POST) { return Self.json(APIAnswer(error)) }
            return Self.json(await batch(request, instance: parts[2]))
        case 5 where parts[0] == "v1" && parts[1] == "instances" && parts[3] == "turns":
            if let error = only(.GET) { return Self.json(APIAnswer(error)) }
            let (name, id) = (parts[2], parts[4])
            return Self.json(await hop.run { state in state.turn(id, instance: name) })
        default:
            return Self.json(APIAnswer(.notFound(request.path)))
        }
    }

    private func health() async -> APIAnswer {
        await hop.run { state in
            let core = state.core
            var report: BridgeCore.JSONValue = .null
            if !core.healthEnabled {
                report = ["enabled": false, "reason": "health checks are disabled (docker.health.enabled: false)"]
            } else if let last = core.lastHealth {
                report = ServerWire.encode(last)
            }
            return APIAnswer(200, [
                "status": state.stopping ? "stopping" : "ok", "pid": .int(Int(getpid())),
                "pipe_dir": .string(core.pipeDirectory), "uptime": .number(Date().timeIntervalSince1970 - core.startedAt),
                "instances": .int(core.list().count), "event_streams": .int(state.events.count), "health": report,
            ])
        }
    }

    private func prompt(_ request: HTTPRequest, instance name: String) async -> APIAnswer {
        var wait: Double?
        if let text = request.query.first(where: { $0.name == "wait" })?.value {
            guard let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds <= Self.maxWait else {
                return APIAnswer(.badRequest("bad_wait", "wait must be a number of seconds from 0 to \(Int(Self.maxWait)), got \(text.debugDescription)"))
            }
            wait = seconds
        }
        let prompt: PromptRequest
        switch await body(request).flatMap({ PromptRequest.parse($0, maxBytes: maxPromptBytes) }) {
        case .failure(let error): return APIAnswer(error)
        case .success(let parsed): prompt = parsed
        }
        return await hop.answer { state, reply in state.submit(prompt, to: name, wait: wait, reply: reply) }
    }

    private func batch(_ request: HTTPRequest, instance name: String) async -> APIAnswer {
        let prompts: [Result<PromptRequest, APIError>]
        switch await body(request).flatMap({ PromptRequest.parseBatch($0, maxBytes: maxPromptBytes) }) {
        case .failure(let error): return APIAnswer(error)
        case .success(let parsed): prompts = parsed
        }
        let items = Unchecked(value: prompts)
        return await hop.answer { state, reply in state.submitBatch(items.value, to: name, reply: reply) }
    }

    private func events(instance: String?) async -> FlyingFox.HTTPResponse {
        let opened: Result<Unchecked<AsyncStream<[UInt8]>>, APIError> = await hop.run { state in
            guard !state.stopping else { return .failure(.stopping) }
            if let instance, !state.hasInstance(instance) { return .failure(state.noSuchInstance(instance)) }
            return .success(Unchecked(value: state.events.open(instance: instance)))
        }
        switch opened {
        case .failure(let error): return Self.json(APIAnswer(error))
        case .success(let stream):
            return FlyingFox.HTTPResponse(statusCode: .ok,
                                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                                body: HTTPBodySequence(from: EventStreamBody(stream: stream.value)))
        }
    }

    /// The request's body, refused (413) past `maxBodyBytes` without reading further.
    private func body(_ request: HTTPRequest) async -> Result<[UInt8], APIError> {
        let limit = maxBodyBytes
        let tooLarge = APIError.tooLarge("the body is larger than \(limit) bytes (server.max_prompt_bytes plus 64 KiB for the JSON)")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { return .failure(tooLarge) }
        var bytes: [UInt8] = []
        do {
            for try await chunk in request.bodySequence {
                bytes += chunk
                if bytes.count > limit { return .failure(tooLarge) }
            }
        } catch {
            return .failure(.badRequest("bad_body", "the body could not be read: \(error.localizedDescription)"))
        }
        return .success(bytes)
    }

    static func json(_ answer: APIAnswer) -> FlyingFox.HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = ((try? encoder.encode(answer.json)) ?? Data("{}".utf8)) + Data("\n".utf8)
        var headers: HTTPHeaders = [.contentType: "application/json"]
        if answer.status == 413 { headers[.connection] = "close" }
        return FlyingFox.HTTPResponse(statusCode: Self.status(answer.status), headers: headers, body: body)
    }

    static func status(_ code: Int) -> HTTPStatusCode {
        switch code {
        case 200: .ok
        case 202: .accepted
        case 400: .badRequest
        case 401: .unauthorized
        case 403: .forbidden
        case 404: .notFound
        case 405: .methodNotAllowed
        case 409: .conflict
        case 413: HTTPStatusCode(413, phrase: "Content Too Large")
        case 503: .serviceUnavailable
        default: HTTPStatusCode(code, phrase: "Status \(code)")
        }
    }
}
