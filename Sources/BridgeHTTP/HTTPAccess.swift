// HTTPAccess: who may call the HTTP input, checked before any route. A browser page must not
// reach it (a DNS-rebinding page included): a request with an `Origin` header not listed in
// `server.http.allowed_origins` is refused (403), and so, on a loopback bind, is a `Host` that
// is not a loopback name. Every request then needs `Authorization: Bearer TOKEN` (401), the
// token compared in constant time. Allowed origins get the CORS headers they need.

import BridgeCore
import Foundation

struct HTTPAccess: Sendable {
    var token: String
    var allowedOrigins: [String]
    /// True when bound to loopback: only loopback Host names are answered.
    var loopbackOnly: Bool

    /// Why a request is refused before routing, or nil. `preflight` skips the token (a browser's
    /// OPTIONS carries none).
    func refusal(origin: String?, host: String?, authorization: String?, preflight: Bool = false) -> APIError? {
        if let origin, !allowedOrigins.contains(origin) { return .forbiddenOrigin(origin) }
        if loopbackOnly, let host, !Self.isLoopbackHost(host) { return .forbiddenHost(host) }
        if preflight { return nil }
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            return .unauthorized
        }
        let given = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return IPCToken.matches(given, token) ? nil : .unauthorized
    }

    /// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
    static func isLoopbackHost(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            name = String(name[name.index(after: name.startIndex)..<close])
        } else if let colon = name.lastIndex(of: ":") {
            name = String(name[..<colon])
        }
        return HTTPSettings.isLoopback(name)
    }
}
