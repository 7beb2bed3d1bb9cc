// FuzzIPC: the `ipc` fuzz target, the server socket's parsers on untrusted bytes.
//   - The input as a byte stream into IPCFrameDecoder (4 KiB frame limit), fed whole and split at
//     a point chosen by the first byte: both feeds give the same frames and the same error; the
//     decoder never holds more than one frame (header + limit); every frame is within the limit.
//   - Every frame, and the input itself as a frame's JSON, through IPCMessage.decode: whatever
//     decodes re-encodes to a frame that decodes to the same message.

import BridgeCore

enum FuzzIPC {
    static let maxFrameBytes = 4096

    struct Outcome: Equatable {
        var frames: [IPCFrame] = []
        var error: IPCFrameError?
    }

    static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        let whole = feed([bytes[...]])
        let split = feed([bytes[..<cut], bytes[cut...]])
        guard whole == split else { fatalError("ipc: split feed at \(cut) differs: \(whole) vs \(split)") }
        for frame in whole.frames {
            guard frame.json.count + frame.attachment.count <= maxFrameBytes else { fatalError("ipc: frame over the limit") }
            checkMessage(frame)
        }
        checkMessage(IPCFrame(json: bytes))
    }

    static func feed(_ pieces: [ArraySlice<UInt8>]) -> Outcome {
        var decoder = IPCFrameDecoder(maxFrameBytes: maxFrameBytes)
        var outcome = Outcome()
        do throws(IPCFrameError) {
            for piece in pieces {
                decoder.append(piece)
                while let frame = try decoder.next() { outcome.frames.append(frame) }
                guard decoder.bufferedBytes <= IPCFrame.headerBytes + maxFrameBytes + piece.count else {
                    fatalError("ipc: decoder holds \(decoder.bufferedBytes) bytes")
                }
            }
            try decoder.finish()
        } catch {
            outcome.error = error
        }
        return outcome
    }

    static func checkMessage(_ frame: IPCFrame) {
        guard case .success(let message) = IPCMessage.decode(frame) else { return }
        var decoder = IPCFrameDecoder(maxFrameBytes: Int(UInt32.max))
        decoder.append(message.encoded())
        guard case let again?? = try? decoder.next(), IPCMessage.decode(again) == .success(message) else {
            fatalError("ipc: \(message) does not survive encode/decode")
        }
    }
}
