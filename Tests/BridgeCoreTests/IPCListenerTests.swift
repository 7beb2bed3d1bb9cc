// IPCListener and IPCClient on real Unix sockets: requests and events round trip; garbage,
// truncated, oversized and unauthenticated frames, a wrong token, no auth in time and a peer of
// another uid get an error frame and are disconnected while the listener goes on serving; an
// unsafe socket directory is refused; a client that never reads does not hold up one that does
// and is told what it skipped; clients reconnect after the backoff's delays.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// Answers `echo` with its params, `subscribe` by adding the topic, `never` not at all,
/// anything else with unknown_method.
final class TestHandler: IPCRequestHandler {
    var authenticated: [Int] = []
    var disconnected: [Int] = []
    var parked: [(Result<JSONValue, IPCError>) -> Void] = []

    func handle(_ request: IPCRequest, from peer: IPCPeer, respond: @escaping (Result<JSONValue, IPCError>) -> Void) {
        switch request.method {
        case "echo": respond(.success(request.params))
        case "subscribe":
            peer.topics.insert(request.params.stringValue ?? "")
            respond(.success(true))
        case "never": parked.append(respond)
        default: respond(.failure(IPCError(.unknownMethod, "no method \(request.method)")))
        }
    }
    func peerDidAuthenticate(_ peer: IPCPeer) { authenticated.append(peer.id) }
    func peerDidDisconnect(_ peer: IPCPeer) { disconnected.append(peer.id) }
}

/// A listener on a private directory, and the loop the test drives.
final class ListenerFixture {
    let temp = TempDir()
    let loop: EventLoop
    let handler = TestHandler()
    let endpoint: IPCEndpoint
    let listener: IPCListener

    init(_ options: IPCListenerOptions = IPCListenerOptions(authTimeout: 2, requestTimeout: 2)) throws {
        loop = try EventLoop()
        endpoint = IPCEndpoint(directory: temp.file("run"), key: "0123456789abcdef")
        listener = IPCListener(loop: loop, endpoint: endpoint, options: options, handler: handler)
        try listener.start()
    }

    deinit { listener.stop() }

    func spin(timeout: Double = 5, until condition: () -> Bool) -> Bool {
        BridgeCoreTests.spin(loop, timeout: timeout, until: condition)
    }

    /// A client that is ready (authenticated), or nil.
    func readyClient(_ options: IPCClientOptions = IPCClientOptions(reconnect: nil)) -> IPCClient? {
        let client = IPCClient(loop: loop, endpoint: endpoint, options: options)
        client.start()
        return spin(until: { client.state == .ready }) ? client : nil
    }

    /// One request through `client`, waiting for its answer.
    func call(_ client: IPCClient, _ method: String, _ params: JSONValue = .null, timeout: Double? = nil) -> Result<JSONValue, IPCError>? {
        var result: Result<JSONValue, IPCError>?
        client.request(method, params: params, timeout: timeout) { result = $0 }
        _ = spin { result != nil }
        return result
    }

    func raw() throws -> RawPeer { try RawPeer(self) }
}

/// A hand-driven client socket: sends any bytes, collects the frames the server sends.
final class RawPeer {
    let fd: Int32
    let fixture: ListenerFixture
    var decoder = IPCFrameDecoder(maxFrameBytes: 64 << 20)
    var received: [IPCMessage] = []
    var closedByServer = false

    init(_ fixture: ListenerFixture) throws {
        self.fixture = fixture
        fd = try IPCSocket.connect(to: fixture.endpoint.socketPath).fd
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n } else if errno == EAGAIN { fixture.loop.runOnce(timeout: 0.01) } else { return }
        }
    }

    func send(_ message: IPCMessage) { send(message.encoded()) }

    /// Reads what has arrived (non-blocking); true when the server has closed the connection.
    @discardableResult
    func poll() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !closedByServer {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                decoder.append(buffer[..<n])
                while let frame = try? decoder.next() { received.append((try? IPCMessage.decode(frame).get()) ?? .authOK) }
            } else if n == 0 || errno != EAGAIN {
                closedByServer = true
            } else {
                break
            }
        }
        return closedByServer
    }

    /// Runs the loop until the server closed this connection.
    func waitForClose(timeout: Double = 5) -> Bool {
        fixture.spin(timeout: timeout) { poll() }
    }

    func authenticate() -> Bool {
        guard let token = try? fixture.endpoint.readToken() else { return false }
        send(.auth(protocol: 1, token: token))
        return fixture.spin { poll(); return received.contains(.authOK) }
    }

    /// The error frames (id nil) received.
    var connectionErrors: [IPCErrorCode] {
        received.compactMap { if case .error(nil, let error) = $0 { return error.code }; return nil }
    }
}

@Suite struct IPCListenerTests {
    @Test func requestsAndEventsRoundTripAndErrorsKeepTheirCodes() throws {
        let f = try ListenerFixture()
        let client = try #require(f.readyClient())
        #expect(client.serverPid == Int(getpid()))
        let params: JSONValue = ["text": "héllo\n\u{1B}[1m", "n": 42, "list": [1, nil, true]]
        #expect(f.call(client, "echo", params) == .success(params))
        #expect(f.call(client, "launch") == .failure(IPCError(.unknownMethod, "no method launch")))
        #expect(f.call(client, "subscribe", "claude-1") == .success(true))
        var events: [IPCEvent] = []
        client.onEvent = { events.append($0) }
        let output = IPCEvent(name: IPCEventName.output, data: ["line": 7], attachment: Array("red \u{1B}[31m\n".utf8) + [0xFF])
        #expect(f.listener.broadcast(output, topic: "claude-1") == 1)
        #expect(f.listener.broadcast(IPCEvent(name: "other"), topic: "claude-2") == 0)
        #expect(f.spin { events.count == 1 })
        #expect(events == [output])
        #expect(f.handler.authenticated.count == 1)
        client.stop()
        #expect(f.spin { f.handler.disconnected.count == 1 })
    }

    @Test func theSocketAndTokenArePrivateFiles() throws {
        let f = try ListenerFixture()
        var st = stat()
        #expect(lstat(f.endpoint.directory, &st) == 0 && st.st_mode & 0o777 == 0o700)
        #expect(lstat(f.endpoint.socketPath, &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK && st.st_mode & 0o777 == 0o600)
        #expect(lstat(f.endpoint.tokenPath, &st) == 0 && st.st_mode & 0o777 == 0o600)
        let token = try f.endpoint.readToken()
        #expect(token.count == 64)
        f.listener.stop()
        #expect(access(f.endpoint.socketPath, F_OK) != 0 && access(f.endpoint.tokenPath, F_OK) != 0)
    }

    /// Each bad input gets its error frame and the connection is closed; a client after it is served.
    @Test(arguments: ["garbage", "oversized", "request-before-auth", "wrong-token", "old-protocol", "bad-json", "truncated", "reply-type"])
    func aBadClientIsDisconnectedWithAnErrorFrameAndOthersAreServed(kind: String) throws {
        let f = try ListenerFixture(IPCListenerOptions(maxFrameBytes: 64 << 10, authTimeout: 5, requestTimeout: 2))
        let bad = try f.raw()
        let expected: IPCErrorCode
        switch kind {
        case "garbage":
            bad.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)); expected = .badFrame
        case "oversized":
            var header = IPCFrame.magic
            IPCFrame.appendU32(65 << 10, to: &header); IPCFrame.appendU32(0, to: &header)
            bad.send(header); expected = .frameTooLarge
        case "request-before-auth":
            bad.send(.request(IPCRequest(id: 1, method: "echo"))); expected = .unauthenticated
        case "wrong-token":
            bad.send(.auth(protocol: 1, token: String(repeating: "0", count: 64))); expected = .unauthenticated
        case "old-protocol":
            bad.send(.auth(protocol: 0, token: try f.endpoint.readToken())); expected = .unsupportedVersion
        case "bad-json":
            bad.send(IPCFrame(json: Array(#"{"type":"auth","protocol":1,"token":"#.utf8)).encoded()); expected = .badFrame
        case "truncated":
            bad.send(Array(IPCMessage.auth(protocol: 1, token: "x").encoded().dropLast(3)))
            shutdown(bad.fd, Int32(SHUT_WR)); expected = .badFrame
        default:
            #expect(bad.authenticate())
            bad.send(.response(id: 1, result: nil)); expected = .badFrame
        }
        #expect(bad.waitForClose(), "\(kind): still connected")
        #expect(bad.connectionErrors == [expected], "\(kind): \(bad.received)")
        if case .welcome(1, _, _)? = bad.received.first {} else { Issue.record("\(kind): no welcome first: \(bad.received)") }
        // The listener goes on.
        let good = try #require(f.readyClient())
        #expect(f.call(good, "echo", "still here") == .success("still here"))
        #expect(f.listener.peers.count == 1)
    }

    @Test func noAuthWithinTheTimeoutDisconnects() throws {
        let f = try ListenerFixture(IPCListenerOptions(authTimeout: 0.3))
        let silent = try f.raw()
        let started = MonotonicClock.now()
        #expect(silent.waitForClose())
        #expect(MonotonicClock.now() - started >= 0.3)
        #expect(silent.connectionErrors == [.timeout])
        #expect(f.listener.peers.isEmpty)
        // Authenticated in time: stays connected past the timeout.
        let good = try #require(f.readyClient())
        _ = f.spin(timeout: 0.6) { false }
        #expect(good.state == .ready)
        #expect(f.call(good, "echo", 1) == .success(1))
    }

    @Test func aRequestTheServerDoesNotAnswerTimesOutAndALateAnswerIsIgnored() throws {
        let f = try ListenerFixture(IPCListenerOptions(requestTimeout: 0.2))
        let client = try #require(f.readyClient())
        #expect(f.call(client, "never")?.failure?.code == .timeout)
        f.handler.parked.first?(.success("too late"))
        #expect(f.call(client, "echo", 2) == .success(2))
        // The client's own timeout, shorter than the server's.
        let g = try ListenerFixture(IPCListenerOptions(requestTimeout: 30))
        let other = try #require(g.readyClient())
        #expect(g.call(other, "never", timeout: 0.2)?.failure?.code == .timeout)
        #expect(g.call(other, "echo", 3) == .success(3))
    }

    @Test func aSocketDirectoryOpenToOthersOrNotADirectoryIsRefused() throws {
        let temp = TempDir()
        let loop = try EventLoop()
        let handler = TestHandler()
        let open = temp.file("open")
        mkdir(open, 0o755)
        chmod(open, 0o755)
        let listener = IPCListener(loop: loop, endpoint: IPCEndpoint(directory: open, key: "k"), handler: handler)
        #expect(throws: IPCEndpointError.unsafeDirectory(path: open, reason: "its mode is 755, open to others")) { try listener.start() }
        #expect(access(open + "/server-k.token", F_OK) != 0, "nothing is written in a refused directory")
        let link = temp.file("link")
        mkdir(temp.file("target"), 0o700)
        symlink(temp.file("target"), link)
        #expect(throws: IPCEndpointError.unsafeDirectory(path: link, reason: "it is a symbolic link")) {
            try IPCEndpoint(directory: link, key: "k").prepareDirectory()
        }
        // A client refuses it too, before reading any token from it.
        let client = IPCClient(loop: loop, endpoint: IPCEndpoint(directory: open, key: "k"), options: IPCClientOptions(reconnect: nil))
        client.start()
        guard case .stopped(let error?) = client.state else { Issue.record("client state \(client.state)"); return }
        #expect(error.code == .notRunning && error.message.contains("open to others"))
    }

    @Test func aSocketDirectoryOwnedBySomeoneElseIsRefused() throws {
        guard geteuid() == 0 else {
            print("skipped: needs root to give a directory to another uid")
            return
        }
        let temp = TempDir()
        let theirs = temp.file("theirs")
        mkdir(theirs, 0o700)
        chown(theirs, 65534, 65534)
        let endpoint = IPCEndpoint(directory: theirs, key: "k")
        #expect(throws: IPCEndpointError.unsafeDirectory(path: theirs, reason: "it belongs to uid 65534, not to you (uid 0)")) {
            try endpoint.prepareDirectory()
        }
    }

    @Test func aClientThatNeverReadsDoesNotHoldUpOneThatDoesAndLearnsWhatItSkipped() throws {
        let f = try ListenerFixture(IPCListenerOptions(maxQueuedBytes: 64 << 10, authTimeout: 5, requestTimeout: 5))
        let slow = try f.raw()
        #expect(slow.authenticate())
        slow.send(.request(IPCRequest(id: 1, method: "subscribe", params: "claude-1")))
        #expect(f.spin { slow.poll(); return slow.received.contains(.response(id: 1, result: true)) })
        let fast = try #require(f.readyClient())
        #expect(f.call(fast, "subscribe", "claude-1") == .success(true))
        var got: [Int] = []
        fast.onEvent = { if let line = $0.data["line"]?.intValue { got.append(line) } }
        let total = 4000
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 1000)
        let slowPeer = try #require(f.listener.peers.first)
        // The slow one never reads from here on; the loop keeps serving the fast one.
        for line in 0..<total {
            f.listener.broadcast(IPCEvent(name: IPCEventName.output, data: ["line": .int(line)], attachment: payload), topic: "claude-1")
            f.loop.runOnce(timeout: 0)
        }
        #expect(f.spin { got.count == total })
        #expect(got.elementsEqual(0..<total), "the reading client has every line in order (\(got.count) of \(total))")
        #expect(slowPeer.skippedEvents > 0)
        #expect(slowPeer.queuedBytes <= 64 << 10)
        // Now it reads: the lines it got, then how many it missed; nothing lost unaccounted.
        let skipped = slowPeer.skippedEvents
        var lines: [Int] = []
        var notices: [Int] = []
        #expect(f.spin {
            slow.poll()
            lines = []; notices = []
            for case .event(let event) in slow.received {
                if event.name == IPCEventName.skipped { notices.append(event.data["count"]?.intValue ?? -1) }
                else if let line = event.data["line"]?.intValue { lines.append(line) }
            }
            return lines.count + notices.reduce(0, +) == total
        }, "slow client: \(lines.count) lines, notices \(notices), \(skipped) skipped")
        #expect(notices.reduce(0, +) == skipped)
        #expect(!notices.isEmpty && lines.elementsEqual(lines.sorted()))
    }

    @Test func theClientReconnectsAfterTheBackoffDelaysAndReadsTheNewToken() throws {
        let temp = TempDir()
        let loop = try EventLoop()
        let endpoint = IPCEndpoint(directory: temp.file("run"), key: "k")
        let backoff = IPCBackoff(base: 0.01, factor: 2, max: 0.08, jitter: 0.5)
        let client = IPCClient(loop: loop, endpoint: endpoint,
                               options: IPCClientOptions(reconnect: backoff, jitterUnit: { 1 }))
        var waits: [Double] = []
        var readyCount = 0
        client.onStateChange = { state in
            if case .waiting(_, let delay, let error) = state {
                waits.append(delay)
                #expect(error.code == .notRunning || error.code == .disconnected, "\(error)")
            }
            if state == .ready { readyCount += 1 }
        }
        client.start()
        #expect(spin(loop, timeout: 5) { waits.count >= 6 })
        #expect(Array(waits.prefix(6)) == [0.01, 0.02, 0.04, 0.08, 0.08, 0.08])
        // A server appears: the client gets in, and the delays start over after a loss.
        let handler = TestHandler()
        var listener = IPCListener(loop: loop, endpoint: endpoint, handler: handler)
        try listener.start()
        #expect(spin(loop, timeout: 5) { client.state == .ready })
        waits = []
        listener.stop()
        listener = IPCListener(loop: loop, endpoint: endpoint, handler: handler)
        #expect(spin(loop, timeout: 5) { waits.count >= 1 })
        #expect(waits.first == 0.01)
        try listener.start()   // a new token
        #expect(spin(loop, timeout: 5) { client.state == .ready })
        #expect(readyCount == 2)
        var answer: Result<JSONValue, IPCError>?
        client.request("echo", params: "again") { answer = $0 }
        #expect(spin(loop, timeout: 5) { answer != nil })
        #expect(answer == .success("again"))
        client.stop()
        listener.stop()
    }

    @Test func theBlockingCallGetsOneAnswerOrSaysNoServerRuns() throws {
        let temp = TempDir()
        let nowhere = IPCEndpoint(directory: temp.file("none"), key: "k")
        let started = MonotonicClock.now()
        #expect(IPCClient.call("echo", endpoint: nowhere, timeout: 5).failure?.code == .notRunning)
        #expect(MonotonicClock.now() - started < 2)
        let f = try ListenerFixture()
        let result = CallResult()
        let endpoint = f.endpoint
        let thread = Thread { result.set(IPCClient.call("echo", params: ["a": 1], endpoint: endpoint, timeout: 5)) }
        thread.start()
        #expect(f.spin { result.get() != nil })
        #expect(result.get() == .success(["a": 1]))
    }

    @Test func aClientKilledMidFloodIsDroppedAndTheOthersGoOn() throws {
        let f = try ListenerFixture()
        // A real client process: authenticates, subscribes, then reads slowly until killed.
        let script = """
        import socket, struct, sys, time
        def frame(j):
            b = j.encode()
            return b'CCB1' + struct.pack('>II', len(b), 0) + b
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        token = open(sys.argv[2]).read().strip()
        s.sendall(frame('{"type":"auth","protocol":1,"token":"%s"}' % token))
        s.sendall(frame('{"type":"request","id":1,"method":"subscribe","params":"claude-1"}'))
        while True:
            s.recv(1024)
            time.sleep(0.01)
        """
        let child = try Child.python(script, [f.endpoint.socketPath, f.endpoint.tokenPath])
        #expect(f.spin(timeout: 10) { f.listener.peers.contains { $0.topics.contains("claude-1") } })
        let fast = try #require(f.readyClient())
        #expect(f.call(fast, "subscribe", "claude-1") == .success(true))
        var got = 0
        fast.onEvent = { _ in got += 1 }
        let payload = [UInt8](repeating: UInt8(ascii: "y"), count: 4000)
        for line in 0..<2000 {
            if line == 500 { child.kill() }
            f.listener.broadcast(IPCEvent(name: IPCEventName.output, data: ["line": .int(line)], attachment: payload), topic: "claude-1")
            f.loop.runOnce(timeout: 0)
        }
        #expect(f.spin { got == 2000 }, "the other client got \(got) of 2000")
        #expect(f.spin { f.handler.disconnected.count == 1 })
        #expect(f.listener.peers.count == 1)
        #expect(f.call(fast, "echo", "on") == .success("on"))
    }

    @Test func aSecondListenerOnALiveSocketIsRefusedAndAStaleSocketIsReplaced() throws {
        let f = try ListenerFixture()
        let token = try f.endpoint.readToken()
        let second = IPCListener(loop: f.loop, endpoint: f.endpoint, handler: f.handler)
        #expect(throws: SystemError("bind", EADDRINUSE, path: f.endpoint.socketPath)) { try second.start() }
        #expect(try f.endpoint.readToken() == token, "the running server's token is left alone")
        let client = try #require(f.readyClient())
        #expect(f.call(client, "echo", 1) == .success(1))
        // A socket file nobody listens on (a server killed with SIGKILL leaves one) is replaced.
        let stale = IPCEndpoint(directory: f.endpoint.directory, key: "stale")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(stale.socketPath.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        close(fd)
        let third = IPCListener(loop: f.loop, endpoint: stale, handler: f.handler)
        try third.start()
        let other = IPCClient(loop: f.loop, endpoint: stale, options: IPCClientOptions(reconnect: nil))
        other.start()
        #expect(f.spin { other.state == .ready })
        third.stop()
    }

    @Test func anEventLargerThanAFrameIsSkippedWithANotice() throws {
        let f = try ListenerFixture(IPCListenerOptions(maxFrameBytes: 4096))
        let client = try #require(f.readyClient(IPCClientOptions(reconnect: nil, maxFrameBytes: 4096)))
        #expect(f.call(client, "subscribe", "t") == .success(true))
        var events: [IPCEvent] = []
        client.onEvent = { events.append($0) }
        #expect(f.listener.broadcast(IPCEvent(name: "output", attachment: [UInt8](repeating: 1, count: 5000)), topic: "t") == 0)
        #expect(f.listener.broadcast(IPCEvent(name: "output", data: ["line": 2]), topic: "t") == 1)
        #expect(f.spin { events.count == 2 })
        #expect(events.map(\.name) == [IPCEventName.skipped, "output"])
        #expect(events.first?.data["count"] == 1)
        #expect(client.state == .ready, "the client was not cut off by a frame over its limit")
    }

    @Test func aPeerOfAnotherUidIsRefusedBeforeAnythingElse() throws {
        guard geteuid() == 0 else {
            print("skipped: needs root to run a client under another uid (setpriv)")
            return
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            print("skipped: needs /usr/bin/setpriv and /usr/bin/python3")
            return
        }
        let f = try ListenerFixture()
        // uid 65534 with CAP_DAC_OVERRIDE: it gets past the 0700 directory and the 0600 socket, as
        // a process of another user could if the files' modes were wrong; the uid check stops it.
        let script = """
        import socket, struct, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        data = b''
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                data += chunk
        except Exception as e:
            print('error:', e, data)
        n = struct.unpack('>I', data[4:8])[0] if len(data) >= 8 else 0
        print(data[12:12 + n].decode(), data)
        """
        let child = try Child("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups",
                                                   "--inh-caps", "+dac_override", "--ambient-caps", "+dac_override",
                                                   "/usr/bin/python3", "-c", script, f.endpoint.socketPath])
        #expect(f.spin(timeout: 10) { !child.process.isRunning })
        let output = child.output()
        #expect(output.contains(#""code":"forbidden""#), "child said: \(output)")
        #expect(!output.contains("welcome"))
        #expect(f.handler.authenticated.isEmpty)
        let good = try #require(f.readyClient())
        #expect(f.call(good, "echo", 5) == .success(5))
    }
}

/// A result handed from another thread.
final class CallResult: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<JSONValue, IPCError>?
    func set(_ v: Result<JSONValue, IPCError>) { lock.lock(); value = v; lock.unlock() }
    func get() -> Result<JSONValue, IPCError>? { lock.lock(); defer { lock.unlock() }; return value }
}
