// LoopHop: the one way HTTP handlers (FlyingFox's tasks, on its own threads) touch the server.
// Every ServerCore call hops onto the server's EventLoop through `EventLoop.post` (thread-safe)
// and the answer comes back to the awaiting task. Loop-owned values only cross threads inside
// an `Unchecked` box that no other thread opens.

import BridgeCore

/// Carries a loop-owned value across threads; only the loop thread opens it.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
}

struct LoopHop: Sendable {
    let loop: EventLoop
    private let state: Unchecked<HTTPLoopState>

    init(loop: EventLoop, state: HTTPLoopState) {
        self.loop = loop
        self.state = Unchecked(value: state)
    }

    /// Runs `work` on the loop and returns its value.
    func run<T: Sendable>(_ work: @escaping (HTTPLoopState) -> T) async -> T {
        let job = Unchecked(value: work)
        let state = self.state
        return await withCheckedContinuation { continuation in
            loop.post { continuation.resume(returning: job.value(state.value)) }
        }
    }

    /// Runs `work` on the loop; it calls `reply` (on the loop, at once or later) with the
    /// answer. Only the first reply counts.
    func answer<T: Sendable>(_ work: @escaping (HTTPLoopState, @escaping (T) -> Void) -> Void) async -> T {
        let job = Unchecked(value: work)
        let state = self.state
        return await withCheckedContinuation { continuation in
            loop.post {
                var answered = false
                job.value(state.value) { value in
                    guard !answered else { return }
                    answered = true
                    continuation.resume(returning: value)
                }
            }
        }
    }
}
