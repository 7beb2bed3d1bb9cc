// OneShotSend: one prompt from the command line (`cc-bridge-tui send`) through the same
// non-blocking PromptDelivery the TUI uses, on a private EventLoop: no reader yet is retried
// until the timeout, a full pipe waits in poll, and the process leaves only once the agent took
// the bytes (or took none for the stall window: "written, not yet read"), so nothing is lost
// when an agent reopens its end. Every outcome is one of docs/protocol.md's "Delivery".

public enum OneShotSend {
    /// `stop` is asked between loop turns (a Ctrl-C): the prompt is then cancelled; a part of it
    /// already in the pipe is ended with a newline and reported torn.
    public static func send(_ bytes: [UInt8], to path: String, policy: PipePolicy = .strict,
                            timeout: Double, stop: () -> Bool = { false }) -> Result<SendOutcome, SendError> {
        let loop: EventLoop
        do { loop = try EventLoop() } catch { return .failure(.system(SystemError("pipe"))) }
        return send(bytes, to: path, on: loop, policy: policy, timeout: timeout, stop: stop)
    }

    /// The same on a loop that also serves other things (`ReplyWait` reads the instance's
    /// out-FIFO on it while the prompt goes in).
    public static func send(_ bytes: [UInt8], to path: String, on loop: EventLoop, policy: PipePolicy = .strict,
                            timeout: Double, stop: () -> Bool = { false }) -> Result<SendOutcome, SendError> {
        final class Outcome {
            var delivered: SendError??
            var read: Bool?
        }
        let outcome = Outcome()
        let delivery = PromptDelivery(path: path, loop: loop, writer: PromptWriter(policy: policy)) { _, error in
            outcome.delivered = .some(error)
        }
        delivery.onReleased = { _, read in outcome.read = read }
        delivery.enqueue(.init(promptID: "cli", bytes: bytes, timeout: timeout))
        while delivery.pendingCount > 0 || outcome.delivered == nil {
            if stop() {
                delivery.cancelAll(reason: .cancelled(written: 0, total: bytes.count, ended: false))
                break
            }
            loop.runOnce(timeout: 0.05)
        }
        switch outcome.delivered {
        case .some(.some(let error)): return .failure(error)
        // Whole in the pipe: read, or held there without the agent taking it (also when stopped
        // while waiting for the read).
        case .some(.none): return .success(outcome.read == true ? .read : .writtenNotRead)
        case .none: return .failure(.cancelled(written: 0, total: bytes.count, ended: false))
        }
    }
}
