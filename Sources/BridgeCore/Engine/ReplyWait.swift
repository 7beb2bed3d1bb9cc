// ReplyWait: `cc-bridge-tui send --wait-reply`. One prompt goes in through the one-shot delivery
// (OneShotSend, run on this loop), while the instance's out-FIFO is read and decoded by the TUI's
// own engine path (InstanceHub: OutputChannel, StreamDecoder), until the turn ends:
// - framed (`ccb-jsonl/1`): exactly, at the `done` that carries the prompt's id;
// - plain: at the first `❯` marker after the prompt went in (best effort: the plain protocol has
//   no turn ids, so a reply that prints `❯` itself, or output left from an earlier turn, can end
//   it early).
// The caller must hold the instance's ReaderLock: one reader per out-FIFO.

#if canImport(Glibc)
import Glibc
#endif

public final class ReplyWait {
    public enum Outcome: Equatable, Sendable {
        /// The instance's out-FIFO could not be opened (no FIFO, unsafe, ...): nothing was sent.
        case notAttached(String)
        /// The prompt was not delivered whole (or waits unread in the pipe): the delivery's result.
        case notDelivered(Result<SendOutcome, SendError>)
        /// The turn ended: framed `done` (its status and exit), or the plain marker.
        case ended(StreamMode, status: DoneStatus?, exit: Int?)
        /// Delivered, but the turn did not end within the reply timeout.
        case timedOut(StreamMode)
        /// Asked to stop (a signal) while waiting.
        case stopped(StreamMode)
    }

    public struct Options: Sendable {
        public var pipeDirectory: String
        public var policy = PipePolicy.strict
        public var maxLineBytes = 64 << 10
        /// Stall timeout of the delivery (as `send --timeout`).
        public var sendTimeout = 2.0
        /// Seconds to wait for the end of the turn once the prompt is in.
        public var replyTimeout = 120.0
        /// How long the stream is read (and what it had buffered dropped) before the prompt is
        /// sent, so a framed agent's `hello` is seen and an old `❯` is not taken for the end.
        public var settle = 0.3
        /// The id a framed prompt carries (its `done` ends the wait).
        public var promptID = "cli-1"
        public init(pipeDirectory: String) { self.pipeDirectory = pipeDirectory }
    }

    private let name: InstanceName
    private let options: Options

    public init(name: InstanceName, options: Options) {
        self.name = name
        self.options = options
    }

    /// Runs the whole exchange. `prompt` makes the bytes for the protocol the agent speaks;
    /// `onOutput` gets every decoded batch from the moment the prompt starts going in; `stop` is
    /// asked between loop turns; `onDelivered` is called once the agent has read the whole prompt.
    public func run(prompt: (StreamMode) -> [UInt8], onDelivered: () -> Void = {}, onOutput: (OutputBatch) -> Void,
                    stop: () -> Bool = { false }) -> Outcome {
        let loop: EventLoop
        do { loop = try EventLoop() } catch { return .notAttached("cannot start an event loop: \(SystemError("pipe"))") }
        var hubOptions = InstanceHub.Options(directory: options.pipeDirectory)
        hubOptions.policy = options.policy
        hubOptions.maxLineBytes = options.maxLineBytes
        hubOptions.only = [name.rawValue]
        final class Seen {
            var attached = false
            var failure: String?
            var hello = false
            var collecting = false
            var sent = false
            var end: (status: DoneStatus?, exit: Int?)?
            var batches: [OutputBatch] = []
        }
        let seen = Seen()
        let promptID = options.promptID
        let hub = InstanceHub(loop: loop, options: hubOptions) { event in
            switch event {
            case .attachment(_, .attached): seen.attached = true
            case .attachment(_, .failed(let why)), .attachment(_, .reattaching(let why)):
                if !seen.attached { seen.failure = why }
            case .output(_, let batch):
                if seen.collecting { seen.batches.append(batch) }
            case .stream(_, .hello):
                seen.hello = true
            case .stream(_, .done(let id, let status, let exit)):
                if seen.sent && id == promptID { seen.end = (status, exit) }
            case .stream(_, .replyMarker):
                if seen.sent { seen.end = (nil, nil) }
            default:
                break
            }
        }
        hub.start()
        defer { hub.stop() }
        guard seen.attached else {
            let reason = seen.failure
                ?? hub.currentInstances.first(where: { $0.name == name.rawValue })?.brokenReason
                ?? PipeSafetyError.missing(path: name.outFifoPath(in: options.pipeDirectory)).description
            return .notAttached(reason)
        }
        // What the agent had buffered is an earlier turn's: read and drop it.
        let settleEnd = MonotonicClock.now() + options.settle
        while !seen.hello, MonotonicClock.now() < settleEnd, !stop() { loop.runOnce(timeout: 0.02) }
        let mode = hub.mode(of: name.rawValue) ?? .plain
        seen.collecting = true
        // The plain marker counts once the agent has the prompt: `sent` is set while it goes in,
        // so a reply that ends before the delivery reports back still ends the wait.
        seen.sent = true
        let delivered = OneShotSend.send(prompt(mode), to: name.inFifoPath(in: options.pipeDirectory), on: loop,
                                         policy: options.policy, timeout: options.sendTimeout, stop: stop)
        func flush() {
            for batch in seen.batches { onOutput(batch) }
            seen.batches.removeAll()
        }
        guard case .success(.read) = delivered else { return .notDelivered(delivered) }
        onDelivered()
        let deadline = MonotonicClock.now() + options.replyTimeout
        while seen.end == nil {
            flush()
            if stop() { return .stopped(mode) }
            let left = deadline - MonotonicClock.now()
            if left <= 0 { return .timedOut(mode) }
            loop.runOnce(timeout: min(0.05, left))
        }
        flush()
        return .ended(hub.mode(of: name.rawValue) ?? mode, status: seen.end?.status, exit: seen.end?.exit)
    }
}
