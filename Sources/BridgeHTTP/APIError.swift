// APIError: every refusal the HTTP input answers, as JSON `{"error": message, "code": code}`
// with its status (docs/server.md, "HTTP": 400, 401, 403, 404, 405, 409, 413, 503). The message
// says what was wrong and what to do; the code is stable for scripts.

import BridgeCore

struct APIError: Error, Equatable, Sendable {
    var status: Int
    var code: String
    var message: String

    var json: JSONValue { ["error": .string(message), "code": .string(code)] }

    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(status: 400, code: code, message: message) }

    static let unauthorized = APIError(status: 401, code: "unauthorized",
                                       message: "missing or wrong bearer token (Authorization: Bearer TOKEN; see docs/server.md, \"HTTP\")")

    static func forbiddenOrigin(_ origin: String) -> APIError {
        APIError(status: 403, code: "forbidden_origin",
                 message: "requests from origin \(origin.debugDescription) are refused (not in server.http.allowed_origins)")
    }

    static func forbiddenHost(_ host: String) -> APIError {
        APIError(status: 403, code: "forbidden_host",
                 message: "Host \(host.debugDescription) is not this server's address (a loopback server answers loopback names only)")
    }

    static func notFound(_ path: String) -> APIError {
        APIError(status: 404, code: "not_found", message: "no such endpoint: \(path) (see docs/openapi.yaml)")
    }

    static func noSuchInstance(_ message: String) -> APIError { APIError(status: 404, code: "no_such_instance", message: message) }

    static func noSuchTurn(_ id: String, instance: String) -> APIError {
        APIError(status: 404, code: "no_such_turn", message: "no turn or queued prompt with id \(id.debugDescription) for \(instance)")
    }

    static func methodNotAllowed(_ method: String, allowed: [String]) -> APIError {
        APIError(status: 405, code: "method_not_allowed", message: "\(method) is not allowed here (allowed: \(allowed.joined(separator: ", ")))")
    }

    static func conflict(_ message: String) -> APIError { APIError(status: 409, code: "id_conflict", message: message) }

    static func tooLarge(_ message: String) -> APIError { APIError(status: 413, code: "too_large", message: message) }

    static func unavailable(_ code: String, _ message: String) -> APIError { APIError(status: 503, code: code, message: message) }

    static let stopping = APIError.unavailable("server_stopping", "the server is stopping")
}
