// ServerService: something the server hosts beside its socket (the HTTP input, in BridgeHTTP),
// started by ServerDaemon once the ServerCore runs and the socket (and its token) is up, and
// stopped first at shutdown, while the core still answers. Both calls come on the loop thread;
// a service that runs threads of its own hops back onto `core.loop` for every ServerCore call.

public protocol ServerService: AnyObject {
    /// Throws (the server does not start, and says why) when the service cannot run.
    func start(core: ServerCore, endpoint: IPCEndpoint) throws
    /// Ends the service's connections and threads; returns when they are gone (bounded).
    func stop()
}
