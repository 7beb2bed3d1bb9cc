// IPCFrame: the wire frame of the server socket, and an incremental decoder that never traps.
//
//   offset 0   magic "CCB1" (4 bytes: 0x43 0x43 0x42 0x31)
//   offset 4   u32 big-endian: length of the JSON header (J)
//   offset 8   u32 big-endian: length of the raw attachment (A), 0 for most frames
//   offset 12  J bytes of JSON (UTF-8, one object: the message, see IPCMessage.swift)
//   then       A bytes attachment (output bytes travel here raw, not JSON-escaped: docs/ipc.md)
//
// J + A must not exceed the decoder's `maxFrameBytes` (default `IPCFrame.defaultMaxFrameBytes`,
// 4 MiB); J must be at least 2 ("{}"). The decoder checks the magic and both lengths as soon as
// the 12 header bytes are in, so an oversized frame is refused before its body is buffered.
//
// Public API:
//   struct IPCFrame { json: [UInt8]; attachment: [UInt8]; encoded() -> [UInt8]; encodedParts() -> [[UInt8]] }
//   IPCFrame.magic, .headerBytes, .defaultMaxFrameBytes
//   struct IPCFrameDecoder(maxFrameBytes:) { append(_ bytes), fillAttachment(_ body), next() throws(IPCFrameError) -> IPCFrame?,
//                                             finish() throws(IPCFrameError), bufferedBytes }
//   enum IPCFrameError: badMagic, frameTooLarge(Int, max:), badLength(Int), truncated(have:, need:)

public struct IPCFrame: Equatable, Sendable {
    public static let magic: [UInt8] = Array("CCB1".utf8)
    public static let headerBytes = 12
    public static let defaultMaxFrameBytes = 4 << 20

    public var json: [UInt8]
    public var attachment: [UInt8]

    public init(json: [UInt8], attachment: [UInt8] = []) {
        self.json = json
        self.attachment = attachment
    }

    /// Header, JSON and attachment as one byte array, ready to write.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerBytes + json.count + attachment.count)
        out.append(contentsOf: Self.magic)
        Self.appendU32(UInt32(truncatingIfNeeded: json.count), to: &out)
        Self.appendU32(UInt32(truncatingIfNeeded: attachment.count), to: &out)
        out.append(contentsOf: json)
        out.append(contentsOf: attachment)
        return out
    }

    /// The same as two parts, the header with the JSON, then the attachment as it is (no copy of
    /// it; none when it is empty): a sender can write them together (sendmsg) instead of joining them.
    public func encodedParts() -> [[UInt8]] {
        var head: [UInt8] = []
        head.reserveCapacity(Self.headerBytes + json.count)
        head.append(contentsOf: Self.magic)
        Self.appendU32(UInt32(truncatingIfNeeded: json.count), to: &head)
        Self.appendU32(UInt32(truncatingIfNeeded: attachment.count), to: &head)
        head.append(contentsOf: json)
        return attachment.isEmpty ? [head] : [head, attachment]
    }

    static func appendU32(_ v: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: v >> 24))
        out.append(UInt8(truncatingIfNeeded: v >> 16))
        out.append(UInt8(truncatingIfNeeded: v >> 8))
        out.append(UInt8(truncatingIfNeeded: v))
    }
}

/// Why a byte stream is not a sequence of frames. Every one of them ends the connection.
public enum IPCFrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first four bytes of a frame are not "CCB1": not our protocol, or out of step.
    case badMagic
    /// JSON + attachment would be `length` bytes, more than `max`.
    case frameTooLarge(Int, max: Int)
    /// A JSON length too small to hold an object.
    case badLength(Int)
    /// The stream ended inside a frame: `have` of `need` bytes.
    case truncated(have: Int, need: Int)

    public var description: String {
        switch self {
        case .badMagic: return "not a cc-bridge-tui frame (bad magic)"
        case .frameTooLarge(let n, let max): return "frame of \(n) bytes is larger than the limit of \(max)"
        case .badLength(let n): return "frame with a JSON length of \(n) bytes"
        case .truncated(let have, let need): return "stream ended inside a frame (\(have) of \(need) bytes)"
        }
    }
}

/// Feeds on bytes as they arrive and hands out whole frames. After an error it stays failed
/// (the connection is out of step and must be closed). Buffers at most one frame.
///
/// A large attachment (output bytes) is collected in an array of its own as the bytes arrive and
/// handed out as the frame's attachment as it is: one copy from the read buffer, not two (into
/// the decoder's buffer, then out of it).
public struct IPCFrameDecoder: Sendable {
    public let maxFrameBytes: Int
    private var buffer: [UInt8] = []
    private var offset = 0
    private var failure: IPCFrameError?
    /// The frame whose attachment is being collected: its JSON, the attachment at its full
    /// length (its bytes from `filled` on not written yet).
    private var collecting: (json: [UInt8], attachment: [UInt8], filled: Int)?

    /// Attachments from this size on are collected apart.
    static let collectApartFrom = 16 << 10

    public init(maxFrameBytes: Int = IPCFrame.defaultMaxFrameBytes) {
        self.maxFrameBytes = max(2, maxFrameBytes)
    }

    /// Bytes received but not yet handed out as a frame.
    public var bufferedBytes: Int {
        buffer.count - offset + (collecting.map { IPCFrame.headerBytes + $0.json.count + $0.filled } ?? 0)
    }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        guard failure == nil else { return }
        if collecting != nil {
            bytes.withContiguousStorageIfAvailable { append(UnsafeRawBufferPointer($0)) } ?? append(Array(bytes))
            return
        }
        appendToBuffer(bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        var rest = bytes
        if var frame = collecting {
            collecting = nil   // the attachment alone holds its storage: written in place
            let take = min(rest.count, frame.attachment.count - frame.filled)
            let at = frame.filled
            frame.attachment.withUnsafeMutableBytes { raw in
                raw.baseAddress!.advanced(by: at).copyMemory(from: rest.baseAddress!, byteCount: take)
            }
            frame.filled += take
            collecting = frame
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            guard !rest.isEmpty else { return }
        }
        appendToBuffer(UnsafeBufferPointer(start: rest.baseAddress?.assumingMemoryBound(to: UInt8.self), count: rest.count))
    }

    private mutating func appendToBuffer(_ bytes: some Collection<UInt8>) {
        if offset > 0 && offset >= buffer.count / 2 {
            buffer.removeFirst(offset)
            offset = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// While a large attachment is being collected: `body` gets the part of it still to come and
    /// says how many bytes it wrote there (a read(2) straight into the attachment, no copy through
    /// a read buffer); its result is returned. Nil (and `body` not called) when none is.
    public mutating func fillAttachment<R>(_ body: (UnsafeMutableRawBufferPointer) -> (result: R, filled: Int)) -> R? {
        guard failure == nil, var frame = collecting, frame.filled < frame.attachment.count else { return nil }
        collecting = nil   // the attachment alone holds its storage: written in place
        let at = frame.filled
        let (result, filled) = frame.attachment.withUnsafeMutableBytes { raw in
            body(UnsafeMutableRawBufferPointer(rebasing: raw[at...]))
        }
        frame.filled += max(0, filled)
        collecting = frame
        return result
    }

    /// The next whole frame, nil when more bytes are needed, or the error that ends the stream.
    public mutating func next() throws(IPCFrameError) -> IPCFrame? {
        if let failure { throw failure }
        if let frame = collecting {
            guard frame.filled == frame.attachment.count else { return nil }
            collecting = nil
            return IPCFrame(json: frame.json, attachment: frame.attachment)
        }
        let available = buffer.count - offset
        // A wrong magic is reported as soon as a byte differs, not only once four are in.
        for k in 0..<min(4, available) where buffer[offset + k] != IPCFrame.magic[k] {
            return try fail(.badMagic)
        }
        guard available >= IPCFrame.headerBytes else { return nil }
        let jsonLength = Int(readU32(at: offset + 4))
        let attachmentLength = Int(readU32(at: offset + 8))
        let bodyLength = jsonLength + attachmentLength   // both < 2^32: no overflow in Int
        if bodyLength > maxFrameBytes { return try fail(.frameTooLarge(bodyLength, max: maxFrameBytes)) }
        if jsonLength < 2 { return try fail(.badLength(jsonLength)) }
        let jsonStart = offset + IPCFrame.headerBytes
        if available < IPCFrame.headerBytes + bodyLength && attachmentLength >= Self.collectApartFrom
            && available >= IPCFrame.headerBytes + jsonLength {
            // The JSON is in and a large attachment is on its way: collect it apart.
            // Every byte is written before the frame is handed out (by `append` or
            // `fillAttachment`): no zeroing pass first.
            var attachment = [UInt8](unsafeUninitializedCapacity: attachmentLength) { _, count in count = attachmentLength }
            let have = buffer.count - (jsonStart + jsonLength)
            attachment.withUnsafeMutableBytes { raw in
                buffer.withUnsafeBytes { from in
                    raw.baseAddress!.copyMemory(from: from.baseAddress! + jsonStart + jsonLength, byteCount: have)
                }
            }
            collecting = (Array(buffer[jsonStart..<jsonStart + jsonLength]), attachment, have)
            offset = buffer.count
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            offset = 0
            return nil
        }
        guard available >= IPCFrame.headerBytes + bodyLength else {
            let need = attachmentLength >= Self.collectApartFrom ? jsonLength : bodyLength
            buffer.reserveCapacity(offset + IPCFrame.headerBytes + need)
            return nil
        }
        let frame = IPCFrame(json: Array(buffer[jsonStart..<jsonStart + jsonLength]),
                             attachment: Array(buffer[jsonStart + jsonLength..<jsonStart + bodyLength]))
        offset = jsonStart + bodyLength
        if offset == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            offset = 0
        }
        return frame
    }

    /// Call at end of stream: throws `.truncated` when a frame was cut off (or the stored error).
    public func finish() throws(IPCFrameError) {
        if let failure { throw failure }
        if let frame = collecting {
            throw .truncated(have: IPCFrame.headerBytes + frame.json.count + frame.filled,
                             need: IPCFrame.headerBytes + frame.json.count + frame.attachment.count)
        }
        let available = buffer.count - offset
        guard available > 0 else { return }
        var need = IPCFrame.headerBytes
        if available >= IPCFrame.headerBytes {
            need += Int(readU32(at: offset + 4)) + Int(readU32(at: offset + 8))
        }
        throw .truncated(have: available, need: need)
    }

    private mutating func fail(_ error: IPCFrameError) throws(IPCFrameError) -> IPCFrame? {
        failure = error
        buffer = []
        offset = 0
        collecting = nil
        throw error
    }

    private func readU32(at i: Int) -> UInt32 {
        UInt32(buffer[i]) << 24 | UInt32(buffer[i + 1]) << 16 | UInt32(buffer[i + 2]) << 8 | UInt32(buffer[i + 3])
    }
}
