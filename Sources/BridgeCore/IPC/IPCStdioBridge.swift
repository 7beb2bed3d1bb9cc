// IPCStdioBridge: the remote end of `--host`, run by `cc-bridge-tui dial-stdio`. It joins two
// descriptors (standard input and output: the ssh channel) to this user's server socket and
// copies bytes both ways until the server closes the connection or the output is gone.
//
// Authentication: the client over ssh cannot know the server's token (it is a file on this
// host, readable by this user only). ssh has already proved the user is this user, and this
// process runs as them, so the bridge rewrites the client's first frame: an `auth` gets the
// token read here, whatever it carried. Everything else passes untouched (the server's welcome
// included, so the client still sees the server's protocol version and refuses another one).
//
// Public API:
//   IPCStdioBridge.run(endpoint:, input:, output:, connectTimeout:) throws(IPCStdioBridgeError)

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct IPCStdioBridgeError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

public enum IPCStdioBridge {
    public static func run(endpoint: IPCEndpoint, input: Int32 = 0, output: Int32 = 1,
                           connectTimeout: Double = 10) throws(IPCStdioBridgeError) {
        let token: String
        let server: Int32
        do {
            try endpoint.checkDirectory()
            token = try endpoint.readToken()
            server = try connect(endpoint.socketPath, timeout: connectTimeout)
        } catch {
            throw IPCStdioBridgeError("cannot reach the server at \(endpoint.socketPath): \(error)")
        }
        defer { close(server) }
        var relay = Relay(input: input, output: output, server: server, token: token)
        try relay.run()
    }

    /// A blocking connected socket, or an error.
    static func connect(_ path: String, timeout: Double) throws -> Int32 {
        let (fd, inProgress) = try IPCSocket.connect(to: path)
        if inProgress {
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, Int32(timeout * 1000))
            let code = ready > 0 ? IPCSocket.pendingError(fd) : ETIMEDOUT
            if code != 0 {
                close(fd)
                throw SystemError("connect", code, path: path)
            }
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    struct Relay {
        let input: Int32
        let output: Int32
        let server: Int32
        let token: String
        /// The client's bytes until its first frame (auth) is complete.
        var first: [UInt8] = []
        var firstDone = false
        var inputOpen = true

        mutating func run() throws(IPCStdioBridgeError) {
            var buffer = [UInt8](repeating: 0, count: 256 << 10)
            while true {
                var fds = [pollfd(fd: server, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: inputOpen ? input : -1, events: Int16(POLLIN), revents: 0)]
                let ready = poll(&fds, 2, -1)
                if ready < 0 {
                    if errno == EINTR { continue }
                    throw IPCStdioBridgeError("poll: \(String(cString: strerror(errno)))")
                }
                if fds[0].revents != 0 {
                    let n = buffer.withUnsafeMutableBytes { Glibc.read(server, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return }   // the server closed the connection: done
                    guard writeAll(output, buffer, n) else { return }   // the client is gone
                }
                if inputOpen && fds[1].revents != 0 {
                    let n = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 {
                        // The client is gone: tell the server, and wait for it to close.
                        inputOpen = false
                        shutdown(server, Int32(SHUT_WR))
                        continue
                    }
                    if firstDone {
                        guard writeAll(server, buffer, n) else { return }
                    } else {
                        first += buffer[0..<n]
                        try takeFirstFrame()
                    }
                }
            }
        }

        /// Once the first frame is in: an auth gets our token; it and what followed go on.
        mutating func takeFirstFrame() throws(IPCStdioBridgeError) {
            guard first.count >= IPCFrame.headerBytes else { return }
            guard Array(first[0..<4]) == IPCFrame.magic else { return forwardFirst(first) }
            func u32(_ i: Int) -> Int { Int(first[i]) << 24 | Int(first[i + 1]) << 16 | Int(first[i + 2]) << 8 | Int(first[i + 3]) }
            let length = IPCFrame.headerBytes + u32(4) + u32(8)
            guard length <= IPCFrame.defaultMaxFrameBytes else { return forwardFirst(first) }
            guard first.count >= length else { return }
            var decoder = IPCFrameDecoder()
            decoder.append(first[0..<length])
            var out: [UInt8]
            if let frame = try? decoder.next(), case .success(.auth(let version, _)) = IPCMessage.decode(frame) {
                out = IPCMessage.auth(protocol: version, token: token).encoded()
            } else {
                out = Array(first[0..<length])
            }
            out += first[length...]
            forwardFirst(out)
        }

        mutating func forwardFirst(_ bytes: [UInt8]) {
            firstDone = true
            first = []
            _ = writeAll(server, bytes, bytes.count)
        }

        func writeAll(_ fd: Int32, _ bytes: [UInt8], _ count: Int) -> Bool {
            var offset = 0
            while offset < count {
                let n = bytes.withUnsafeBytes { raw -> Int in
                    if fd == server { return Glibc.send(fd, raw.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
                    return Glibc.write(fd, raw.baseAddress! + offset, count - offset)
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    // A non-blocking descriptor handed to us: wait until it takes more.
                    var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&poller, 1, 1000)
                    continue
                }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }
}
