// OneShotSend: one prompt from the command line (`cc-bridge-tui send`) through the same
// non-blocking PromptDelivery the TUI uses, on a private EventLoop: no reader yet is retried
// until the timeout, a full pipe waits in poll, and the process leaves only once the agent took
// the bytes (or the delivery's deadline passed), so nothing is lost when an agent reopens its end.

public enum OneShotSend {
    public static func send(_ bytes: [UInt8], to path: String, policy: PipePolicy = .strict,
                            timeout: Double) -> Result<Void, SendError> {
        let loop: EventLoop
        do { loop = try EventLoop() } catch { return .failure(.system(SystemError("pipe"))) }
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
            loop.runOnce(timeout: 0.05)
        }
        if case .some(.some(let error)) = outcome.delivered { return .failure(error) }
        return outcome.read == false ? .failure(.notRead) : .success(())
    }
}
